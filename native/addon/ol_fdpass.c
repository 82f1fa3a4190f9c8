/*
 * ol_fdpass: the few system calls Node lacks, as an N-API addon.
 *
 *   request(socketPath, payload: Buffer, fds: number[], timeoutMs) -> Promise<Buffer>
 *       Connects to a Unix stream socket, sends `payload` with `fds` attached
 *       (SCM_RIGHTS, one sendmsg), then reads the answer until the first
 *       newline or EOF. Runs on libuv's thread pool: the event loop never
 *       blocks on the peer (a zygote forking a child).
 *   pidfdOpen(pid) -> number           pidfd_open(2), closed with fs.closeSync
 *   pidfdSendSignal(pidfd, signal)     pidfd_send_signal(2): no pid-reuse race
 *   spawn(file, args, pipes, onExit)   posix_spawn without copying the worker (ol_spawn.c)
 *
 * The fds passed to request() stay owned by the caller (the kernel duplicates
 * them into the message).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ol_spawn.h"

#define MAX_FDS 32
#define MAX_ANSWER 65536

#define CHECK(env, call)                                                        \
    do {                                                                        \
        if ((call) != napi_ok) {                                                \
            napi_throw_error((env), NULL, "ol_fdpass: N-API call failed: " #call); \
            return NULL;                                                        \
        }                                                                       \
    } while (0)

struct request {
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char *payload;
    size_t payload_len;
    int fds[MAX_FDS];
    size_t n_fds;
    int timeout_ms;
    char answer[MAX_ANSWER];
    size_t answer_len;
    int err;                 /* errno of the failed step, 0 on success */
    const char *step;        /* which step failed */
    napi_deferred deferred;
    napi_async_work work;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int send_with_fds(int sock, struct request *r)
{
    struct iovec iov = { .iov_base = r->payload, .iov_len = r->payload_len };
    union {
        char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
        struct cmsghdr align;
    } control;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

    memset(&control, 0, sizeof control);
    if (r->n_fds) {
        struct cmsghdr *c;
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * r->n_fds);
        c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * r->n_fds);
        memcpy(CMSG_DATA(c), r->fds, sizeof(int) * r->n_fds);
    }
    /* The fds travel with the first byte; the rest of a long payload follows. */
    ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n < 0)
        return -1;
    for (size_t off = (size_t)n; off < r->payload_len;) {
        ssize_t m = send(sock, r->payload + off, r->payload_len - off, MSG_NOSIGNAL);
        if (m < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        off += (size_t)m;
    }
    return 0;
}

/* Read until a newline or EOF, within the deadline. */
static int read_answer(int sock, struct request *r, long long deadline)
{
    while (r->answer_len < MAX_ANSWER - 1) {
        struct pollfd p = { .fd = sock, .events = POLLIN };
        long long left = deadline - now_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        int ready = poll(&p, 1, (int)left);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            return -1;
        if (ready == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        ssize_t n = read(sock, r->answer + r->answer_len, MAX_ANSWER - 1 - r->answer_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        r->answer_len += (size_t)n;
        if (memchr(r->answer, '\n', r->answer_len))
            return 0;
    }
    return 0;
}

static void execute(napi_env env, void *data)
{
    struct request *r = data;
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    long long deadline = now_ms() + r->timeout_ms;
    int sock;

    (void)env;
    memcpy(addr.sun_path, r->path, sizeof addr.sun_path);
    sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) {
        r->err = errno, r->step = "socket";
        return;
    }
    if (connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0) {
        r->err = errno, r->step = "connect";
    } else if (send_with_fds(sock, r) < 0) {
        r->err = errno, r->step = "sendmsg";
    } else if (read_answer(sock, r, deadline) < 0) {
        r->err = errno, r->step = "read answer";
    }
    close(sock);
}

static void complete(napi_env env, napi_status status, void *data)
{
    struct request *r = data;
    napi_value value;

    if (status != napi_ok && !r->err)
        r->err = ECANCELED, r->step = "async work";
    if (r->err) {
        char text[512];
        napi_value msg, code;
        snprintf(text, sizeof text, "%s %s: %s", r->step, r->path, strerror(r->err));
        napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
        napi_create_string_utf8(env, r->err == ETIMEDOUT ? "ETIMEDOUT" : "EFDPASS", NAPI_AUTO_LENGTH, &code);
        napi_create_error(env, code, msg, &value);
        napi_reject_deferred(env, r->deferred, value);
    } else {
        void *copy;
        napi_create_buffer_copy(env, r->answer_len, r->answer, &copy, &value);
        napi_resolve_deferred(env, r->deferred, value);
    }
    napi_delete_async_work(env, r->work);
    free(r->payload);
    free(r);
}

static napi_value request(napi_env env, napi_callback_info info)
{
    size_t argc = 4;
    napi_value argv[4], promise, name;
    struct request *r;
    size_t path_len;
    void *payload;
    size_t payload_len;
    uint32_t n_fds;
    bool is_buffer, is_array;

    CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 4) {
        napi_throw_type_error(env, NULL, "request(socketPath, payload, fds, timeoutMs)");
        return NULL;
    }
    CHECK(env, napi_is_buffer(env, argv[1], &is_buffer));
    CHECK(env, napi_is_array(env, argv[2], &is_array));
    if (!is_buffer || !is_array) {
        napi_throw_type_error(env, NULL, "request: payload must be a Buffer and fds an array of numbers");
        return NULL;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        napi_throw_error(env, NULL, "request: out of memory");
        return NULL;
    }
    if (napi_get_value_string_utf8(env, argv[0], r->path, sizeof r->path, &path_len) != napi_ok ||
        path_len >= sizeof r->path - 1) {
        free(r);
        napi_throw_type_error(env, NULL, "request: socketPath must be a string shorter than 107 bytes");
        return NULL;
    }
    CHECK(env, napi_get_buffer_info(env, argv[1], &payload, &payload_len));
    r->payload = malloc(payload_len ? payload_len : 1);
    memcpy(r->payload, payload, payload_len);
    r->payload_len = payload_len;
    CHECK(env, napi_get_array_length(env, argv[2], &n_fds));
    if (n_fds > MAX_FDS || (n_fds && !payload_len)) {
        free(r->payload), free(r);
        napi_throw_range_error(env, NULL, "request: at most 32 fds, and a non-empty payload to carry them");
        return NULL;
    }
    for (uint32_t i = 0; i < n_fds; i++) {
        napi_value v;
        int32_t fd;
        CHECK(env, napi_get_element(env, argv[2], i, &v));
        if (napi_get_value_int32(env, v, &fd) != napi_ok || fd < 0) {
            free(r->payload), free(r);
            napi_throw_type_error(env, NULL, "request: every fd must be a non-negative integer");
            return NULL;
        }
        r->fds[r->n_fds++] = fd;
    }
    CHECK(env, napi_get_value_int32(env, argv[3], &r->timeout_ms));
    CHECK(env, napi_create_promise(env, &r->deferred, &promise));
    CHECK(env, napi_create_string_utf8(env, "ol_fdpass.request", NAPI_AUTO_LENGTH, &name));
    CHECK(env, napi_create_async_work(env, NULL, name, execute, complete, r, &r->work));
    CHECK(env, napi_queue_async_work(env, r->work));
    return promise;
}

static napi_value throw_errno(napi_env env, const char *what)
{
    char text[256];
    napi_value msg, code, err;
    snprintf(text, sizeof text, "%s: %s", what, strerror(errno));
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
    napi_create_string_utf8(env, errno == ESRCH ? "ESRCH" : "EPIDFD", NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, msg, &err);
    napi_throw(env, err);
    return NULL;
}

static napi_value pidfd_open_js(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1], out;
    int32_t pid;

    CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 1 || napi_get_value_int32(env, argv[0], &pid) != napi_ok || pid <= 0) {
        napi_throw_type_error(env, NULL, "pidfdOpen(pid): pid must be a positive integer");
        return NULL;
    }
    long fd = syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0)
        return throw_errno(env, "pidfd_open");
    CHECK(env, napi_create_int32(env, (int32_t)fd, &out));
    return out;
}

static napi_value pidfd_send_signal_js(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2];
    int32_t fd, sig;

    CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
        napi_get_value_int32(env, argv[1], &sig) != napi_ok) {
        napi_throw_type_error(env, NULL, "pidfdSendSignal(pidfd, signal): two integers");
        return NULL;
    }
    if (syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0)
        return throw_errno(env, "pidfd_send_signal");
    return NULL;
}

static napi_value init(napi_env env, napi_value exports)
{
    napi_property_descriptor props[] = {
        { "request", NULL, request, NULL, NULL, NULL, napi_enumerable, NULL },
        { "pidfdOpen", NULL, pidfd_open_js, NULL, NULL, NULL, napi_enumerable, NULL },
        { "pidfdSendSignal", NULL, pidfd_send_signal_js, NULL, NULL, NULL, napi_enumerable, NULL },
    };
    CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
    CHECK(env, ol_define_spawn(env, exports));
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
