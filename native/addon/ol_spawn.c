/*
 * spawn(file, args, pipes, onExit) -> { pid, fds }: start a program without
 * copying the caller.
 *
 * Node's child_process.spawn forks the whole worker (libuv's fork(): every
 * page table copied, 20 ms at 45 MB RSS, 44 ms at 466 MB). posix_spawn in
 * glibc is clone(CLONE_VM|CLONE_VFORK) + execve: nothing is copied, so its
 * cost does not grow with the worker's size.
 *
 * The child gets an empty environment, the default disposition for every
 * signal and an empty signal mask (what libuv gives its children), stdin on
 * /dev/null, one pipe per entry of `pipes` on fds 1, 2, 3... ('out': the
 * child writes, 'in': the child reads) and no other fd. fds[n] is our end of
 * the child's fd n (fds[0] is -1); each is O_CLOEXEC and owned by the caller.
 *
 * Exit: libuv reaps only the children it spawned (waitpid by pid), so this
 * one watches a pidfd of the child with a uv_poll handle on the caller's
 * event loop; when it becomes readable, waitid(P_PIDFD) reaps the child and
 * onExit(code, signal) runs (code null when killed, signal a number).
 * Reaping and the callback happen in the same turn of the JS thread, so until
 * onExit ran the pid cannot be reused: process.kill(pid) is safe until then.
 * The handle keeps the event loop alive while the child runs, as a
 * ChildProcess does. No thread, no lock.
 *
 * posix_spawn runs on the calling thread, the JS main thread, which lives as
 * long as the process: PR_SET_PDEATHSIG in the child (ol-launcher
 * --die-with-parent) fires when the worker dies, not earlier.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <node_api.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "ol_spawn.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define MAX_PIPES 8

struct child {
    uv_poll_t poll;
    int pidfd;
    napi_env env;
    napi_ref on_exit;
    napi_async_context context;
    struct children *all;
    struct child *prev, *next;
};

/* Every watched child of one Node environment, closed when it tears down. */
struct children {
    struct child *head;
    napi_async_cleanup_hook_handle hook;
    int closing;
};

static napi_value fail(napi_env env, const char *code, const char *text)
{
    napi_value msg, c, err;
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
    napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
    napi_create_error(env, c, msg, &err);
    napi_throw(env, err);
    return NULL;
}

static napi_value fail_errno(napi_env env, int err, const char *step, const char *file)
{
    char text[PATH_MAX + 128];
    const char *name = strerrorname_np(err);
    snprintf(text, sizeof text, "%s %s: %s", step, file, strerror(err));
    return fail(env, name ? name : "ESPAWN", text);
}

static char *string_arg(napi_env env, napi_value v)
{
    size_t len;
    char *s;
    if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok)
        return NULL;
    s = malloc(len + 1);
    if (s && napi_get_value_string_utf8(env, v, s, len + 1, &len) != napi_ok) {
        free(s);
        return NULL;
    }
    return s;
}

static void free_argv(char **argv)
{
    for (char **a = argv; a && *a; a++)
        free(*a);
    free(argv);
}

/* argv = [file, ...args], NULL-terminated; NULL if an element is not a string. */
static char **build_argv(napi_env env, const char *file, napi_value args)
{
    uint32_t n;
    char **argv;
    if (napi_get_array_length(env, args, &n) != napi_ok)
        return NULL;
    argv = calloc(n + 2, sizeof *argv);
    if (!argv || !(argv[0] = strdup(file)))
        return free(argv), NULL;
    for (uint32_t i = 0; i < n; i++) {
        napi_value v;
        if (napi_get_element(env, args, i, &v) != napi_ok || !(argv[i + 1] = string_arg(env, v)))
            return free_argv(argv), NULL;
    }
    return argv;
}

/* 1 for 'in' (the child reads), 0 for 'out', -1 otherwise. */
static int pipe_direction(napi_env env, napi_value v)
{
    char s[8];
    size_t len;
    if (napi_get_value_string_utf8(env, v, s, sizeof s, &len) != napi_ok)
        return -1;
    return !strcmp(s, "in") ? 1 : !strcmp(s, "out") ? 0 : -1;
}

static void close_all(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]), fds[i] = -1;
}

/*
 * One pipe per child fd 1..n. The child's ends are moved above n so that no
 * dup2 onto 1..n can overwrite one not yet duplicated. Returns 0 or an errno.
 */
static int make_pipes(const int *in, int n, int *ours, int *theirs)
{
    for (int i = 0; i < n; i++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
            return errno;
        ours[i] = in[i] ? p[1] : p[0];
        theirs[i] = in[i] ? p[0] : p[1];
        if (theirs[i] <= n) {
            int high = fcntl(theirs[i], F_DUPFD_CLOEXEC, n + 1);
            if (high < 0)
                return errno;
            close(theirs[i]);
            theirs[i] = high;
        }
    }
    return 0;
}

static int start(pid_t *pid, const char *file, char **argv, const int *theirs, int n)
{
    static char *const empty_env[] = { NULL };
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    sigset_t all, none;
    int err;

    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    /* Not sigfillset: it leaves out glibc's internal signals (32, 33), which the
       child would then get ignored, and an ignored signal survives exec. */
    memset(&all, 0xff, sizeof all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    err = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    for (int i = 0; i < n && !err; i++)
        err = posix_spawn_file_actions_adddup2(&actions, theirs[i], i + 1);
#if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34)
    /* Any fd of the worker not opened O_CLOEXEC (a library's) stops here.
       (Older glibc: only O_CLOEXEC keeps them out; libuv and ours all are.) */
    if (!err)
        err = posix_spawn_file_actions_addclosefrom_np(&actions, n + 1);
#endif
    if (!err)
        err = posix_spawn(pid, file, &actions, &attr, argv, empty_env);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return err;
}

static void unlink_child(struct child *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->all->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void closed(uv_handle_t *h)
{
    struct child *c = h->data;
    struct children *all = c->all;
    close(c->pidfd);
    free(c);
    if (all->closing && !all->head) {
        napi_remove_async_cleanup_hook(all->hook);
        free(all);
    }
}

static void forget(struct child *c)
{
    napi_delete_reference(c->env, c->on_exit);
    napi_async_destroy(c->env, c->context);
    unlink_child(c);
    uv_close((uv_handle_t *)&c->poll, closed);
}

static void deliver(struct child *c, const siginfo_t *si)
{
    napi_env env = c->env;
    napi_handle_scope scope;
    napi_value cb, recv, argv[2], exc;
    int killed = si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED;

    napi_open_handle_scope(env, &scope);
    napi_get_global(env, &recv); /* napi_make_callback wants an object */
    napi_get_null(env, &argv[0]);
    napi_get_null(env, &argv[1]);
    if (si->si_code == CLD_EXITED || killed)
        napi_create_int32(env, si->si_status, &argv[killed ? 1 : 0]);
    if (napi_get_reference_value(env, c->on_exit, &cb) == napi_ok &&
        napi_make_callback(env, c->context, recv, cb, 2, argv, NULL) == napi_pending_exception &&
        napi_get_and_clear_last_exception(env, &exc) == napi_ok)
        napi_fatal_exception(env, exc); /* to process 'uncaughtException', as an event listener's would */
    napi_close_handle_scope(env, scope);
}

static void readable(uv_poll_t *h, int status, int events)
{
    struct child *c = h->data;
    siginfo_t si;

    (void)status, (void)events;
    memset(&si, 0, sizeof si);
    if (waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED | WNOHANG) < 0) {
        if (errno == EINTR || errno == EAGAIN)
            return;
        /* ECHILD (someone else reaped it) or worse: report an exit without a status (null, null), stop watching. */
        si.si_code = 0, si.si_pid = 1;
    }
    if (si.si_pid == 0)
        return; /* not exited yet */
    deliver(c, &si);
    forget(c);
}

/* Env teardown (a worker thread ending, Node exiting): stop watching; the children are not touched. */
static void teardown(napi_async_cleanup_hook_handle hook, void *arg)
{
    struct children *all = arg;
    all->hook = hook;
    all->closing = 1;
    if (!all->head) {
        napi_remove_async_cleanup_hook(hook);
        free(all);
        return;
    }
    for (struct child *c = all->head, *next; c; c = next) {
        next = c->next;
        forget(c);
    }
}

/* Watch pid's exit; on failure the child is killed and reaped (no zombie) and an errno returned. */
static int watch(napi_env env, struct children *all, pid_t pid, napi_value on_exit)
{
    uv_loop_t *loop;
    napi_value name;
    struct child *c = calloc(1, sizeof *c);
    int err = ENOMEM;

    if (!c)
        goto kill_it;
    c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (c->pidfd < 0) {
        err = errno;
        goto kill_it;
    }
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &c->poll, c->pidfd) < 0 ||
        napi_create_string_utf8(env, "ol_fdpass.spawn", NAPI_AUTO_LENGTH, &name) != napi_ok ||
        napi_async_init(env, NULL, name, &c->context) != napi_ok) {
        err = EINVAL;
        close(c->pidfd);
        goto kill_it;
    }
    napi_create_reference(env, on_exit, 1, &c->on_exit);
    c->env = env;
    c->all = all;
    c->poll.data = c;
    c->next = all->head;
    if (all->head)
        all->head->prev = c;
    all->head = c;
    uv_poll_start(&c->poll, UV_READABLE, readable);
    return 0;
kill_it:
    free(c);
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return err;
}

static napi_value result(napi_env env, pid_t pid, const int *ours, int n)
{
    napi_value out, v, fds;
    napi_create_object(env, &out);
    napi_create_int32(env, pid, &v);
    napi_set_named_property(env, out, "pid", v);
    napi_create_array_with_length(env, (size_t)n + 1, &fds);
    napi_create_int32(env, -1, &v);
    napi_set_element(env, fds, 0, v);
    for (int i = 0; i < n; i++) {
        napi_create_int32(env, ours[i], &v);
        napi_set_element(env, fds, (uint32_t)i + 1, v);
    }
    napi_set_named_property(env, out, "fds", fds);
    return out;
}

static napi_value spawn_js(napi_env env, napi_callback_info info)
{
    size_t argc = 4;
    napi_value argv[4];
    struct children *all;
    char *file = NULL, **child_argv = NULL;
    int in[MAX_PIPES], ours[MAX_PIPES], theirs[MAX_PIPES], n = 0, err;
    uint32_t n_pipes = 0;
    napi_valuetype cb_type = napi_undefined;
    pid_t pid;
    bool is_array;

    if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&all) != napi_ok)
        return fail(env, "EINVAL", "spawn: cannot read the arguments");
    if (argc == 4)
        napi_typeof(env, argv[3], &cb_type);
    if (argc < 4 || napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array ||
        napi_get_array_length(env, argv[2], &n_pipes) != napi_ok || n_pipes > MAX_PIPES || cb_type != napi_function ||
        !(file = string_arg(env, argv[0])) || !(child_argv = build_argv(env, file, argv[1]))) {
        free(file);
        napi_throw_type_error(env, NULL, "spawn(file: string, args: string[], pipes: ('in'|'out')[] (at most 8), onExit: function)");
        return NULL;
    }
    for (; n < (int)n_pipes; n++) {
        napi_value v;
        napi_get_element(env, argv[2], (uint32_t)n, &v);
        if ((in[n] = pipe_direction(env, v)) < 0) {
            free(file), free_argv(child_argv);
            napi_throw_type_error(env, NULL, "spawn: each pipe is 'in' (the child reads) or 'out' (the child writes)");
            return NULL;
        }
        ours[n] = theirs[n] = -1;
    }
    err = make_pipes(in, n, ours, theirs);
    if (!err)
        err = start(&pid, file, child_argv, theirs, n);
    close_all(theirs, n);
    free_argv(child_argv);
    if (!err && (err = watch(env, all, pid, argv[3])) != 0) {
        close_all(ours, n);
        napi_value e = fail_errno(env, err, "watch the exit of", file);
        free(file);
        return e;
    }
    if (err) {
        close_all(ours, n);
        fail_errno(env, err, "spawn", file);
        free(file);
        return NULL;
    }
    free(file);
    return result(env, pid, ours, n);
}

napi_status ol_define_spawn(napi_env env, napi_value exports)
{
    struct children *all = calloc(1, sizeof *all);
    napi_property_descriptor prop = { "spawn", NULL, spawn_js, NULL, NULL, NULL, napi_enumerable, all };
    napi_async_cleanup_hook_handle hook;
    napi_status s;

    if (!all)
        return napi_generic_failure;
    s = napi_add_async_cleanup_hook(env, teardown, all, &hook);
    if (s == napi_ok)
        s = napi_define_properties(env, exports, 1, &prop);
    return s;
}
