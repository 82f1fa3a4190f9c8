/*
 * ol-launcher: run one program in a fresh SOCK sandbox.
 *
 * The command-line contract, the order of the setup steps and the exit codes
 * are documented in native/README.md; keep the two in sync.
 *
 * Three processes, like bubblewrap:
 *   L  the launcher, in the caller's namespaces: joins the cgroups, clone()s C
 *      into new namespaces, reports C's pid, forwards signals, exits with C's
 *      status.
 *   C  pid 1 of the new pid namespace: builds the root, pivots into it, forks G,
 *      then only reaps zombies and forwards signals until G exits.
 *   G  the program: closes fds, drops privileges, installs seccomp, execve().
 *
 * Single-threaded, libc only. Every failure before execve() prints
 * "ol-launcher: <step>: <what>: <strerror>" and exits 125 (126 if execve fails).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

enum { EXIT_SETUP = 125, EXIT_EXEC = 126 };

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

static _Noreturn void fail(int code, int err, const char *step, const char *fmt, ...)
{
    char what[PATH_MAX + 128];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (err)
        fprintf(stderr, "ol-launcher: %s: %s: %s\n", step, what, strerror(err));
    else
        fprintf(stderr, "ol-launcher: %s: %s\n", step, what);
    /* _exit: a clone()d or fork()ed child must not flush the parent's stdio. */
    _exit(code);
}

#define DIE(step, ...) fail(EXIT_SETUP, errno, step, __VA_ARGS__)
#define USAGE(...) fail(EXIT_SETUP, 0, "usage", __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */

enum op_kind { OP_BIND, OP_TMPFS, OP_PROC, OP_DEV };

struct mount_op {
    enum op_kind kind;
    const char *src;            /* host path, binds only */
    const char *dst;            /* absolute path inside the sandbox root */
    bool readonly;              /* binds */
    bool optional;              /* --ro-bind-try */
    unsigned long long size;    /* tmpfs bytes, 0 = kernel default */
};

struct rlimit_op {
    int resource;
    struct rlimit limit;
};

struct config {
    const char *root;
    const char *hostname;
    const char *workdir;
    bool unshare_net;
    bool new_cgroupns;
    bool keep_caps;             /* --keep-caps (zygote tier): the program keeps root's capabilities */
    bool die_with_parent;
    const char *netns;          /* --netns: a network namespace file to join */
    struct rlimit_op *rlimits;
    size_t n_rlimits;
    int status_fd;              /* -1 = none */
    int env_fd;                 /* --env-fd, -1 = none */
    const char *hold_fifo;      /* --hold: no program; wait for an exit status on this FIFO */
    long long uid, gid;         /* -1 = unchanged */
    const char *seccomp_file;
    struct sock_fprog seccomp;  /* loaded by L from the host path */
    struct mount_op *ops;
    size_t n_ops;
    const char **cgroup_files;
    size_t n_cgroups;
    char **env;                 /* NULL-terminated, "NAME=VALUE" */
    size_t n_env;
    char **argv;                /* PROGRAM ARGS..., NULL-terminated */
};

static const struct {
    const char *name;
    int nargs;
} OPTIONS[] = {
    { "--root", 1 },         { "--ro-bind", 2 },      { "--ro-bind-try", 2 },
    { "--bind", 2 },         { "--tmpfs", 2 },        { "--proc", 1 },
    { "--dev", 1 },          { "--hostname", 1 },     { "--unshare-net", 0 },
    { "--cgroup-procs", 1 }, { "--setenv", 2 },       { "--chdir", 1 },
    { "--status-fd", 1 },    { "--uid", 1 },          { "--gid", 1 },
    { "--seccomp", 1 },      { "--die-with-parent", 0 }, { "--netns", 1 },
    { "--rlimit", 3 },       { "--new-cgroupns", 0 },
    { "--keep-caps", 0 },    { "--env-fd", 1 },       { "--hold", 1 },
};

/* The resources --rlimit accepts, by the name of RLIMIT_<NAME> in lower case. */
static const struct {
    const char *name;
    int resource;
} RLIMITS[] = {
    { "as", RLIMIT_AS },         { "core", RLIMIT_CORE },       { "cpu", RLIMIT_CPU },
    { "data", RLIMIT_DATA },     { "fsize", RLIMIT_FSIZE },     { "locks", RLIMIT_LOCKS },
    { "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
    { "nofile", RLIMIT_NOFILE }, { "nproc", RLIMIT_NPROC },     { "rss", RLIMIT_RSS },
    { "rtprio", RLIMIT_RTPRIO }, { "rttime", RLIMIT_RTTIME },   { "sigpending", RLIMIT_SIGPENDING },
    { "stack", RLIMIT_STACK },
};

static int option_arity(const char *name)
{
    for (size_t i = 0; i < sizeof OPTIONS / sizeof OPTIONS[0]; i++)
        if (strcmp(OPTIONS[i].name, name) == 0)
            return OPTIONS[i].nargs;
    return -1;
}

static unsigned long long parse_number(const char *opt, const char *s, unsigned long long max)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || errno || v > max)
        USAGE("%s: not a number in range: '%s'", opt, s);
    return v;
}

/* A sandbox path must be absolute and must not climb out of the root with "..". */
static const char *sandbox_path(const char *opt, const char *p)
{
    if (p[0] != '/')
        USAGE("%s: path inside the sandbox must be absolute: '%s'", opt, p);
    for (const char *c = p; (c = strstr(c, "..")); c += 2)
        if (c[-1] == '/' && (c[2] == '/' || c[2] == '\0'))
            USAGE("%s: path must not contain '..': '%s'", opt, p);
    return p;
}

/* "unlimited" or a number. */
static rlim_t parse_rlim(const char *s)
{
    return strcmp(s, "unlimited") == 0 ? RLIM_INFINITY : (rlim_t)parse_number("--rlimit", s, ULLONG_MAX - 1);
}

static void add_rlimit(struct config *cfg, char **v)
{
    struct rlimit_op *op = &cfg->rlimits[cfg->n_rlimits];

    op->resource = -1;
    for (size_t i = 0; i < sizeof RLIMITS / sizeof RLIMITS[0]; i++)
        if (strcmp(RLIMITS[i].name, v[0]) == 0)
            op->resource = RLIMITS[i].resource;
    if (op->resource < 0)
        USAGE("--rlimit: unknown resource '%s' (as, core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)", v[0]);
    op->limit.rlim_cur = parse_rlim(v[1]);
    op->limit.rlim_max = parse_rlim(v[2]);
    if (op->limit.rlim_cur > op->limit.rlim_max)
        USAGE("--rlimit %s: soft limit %s is above the hard limit %s", v[0], v[1], v[2]);
    cfg->n_rlimits++;
}

/* A repeated name replaces the earlier value, as setenv(3) would. */
static void put_env(struct config *cfg, char *entry, size_t name_len)
{
    for (size_t i = 0; i < cfg->n_env; i++)
        if (strncmp(cfg->env[i], entry, name_len + 1) == 0) {
            cfg->env[i] = entry;
            return;
        }
    cfg->env[cfg->n_env++] = entry;
}

static void add_env(struct config *cfg, const char *name, const char *value)
{
    size_t len = strlen(name);
    char *entry;

    if (len == 0 || strchr(name, '='))
        USAGE("--setenv: invalid variable name '%s'", name);
    if (asprintf(&entry, "%s=%s", name, value) < 0)
        DIE("setenv", "%s", name);
    put_env(cfg, entry, len);
}

static void add_mount(struct config *cfg, enum op_kind kind, const char *opt, const char *src,
                      const char *dst)
{
    struct mount_op *op = &cfg->ops[cfg->n_ops++];

    op->kind = kind;
    op->src = src;
    op->dst = sandbox_path(opt, dst);
    op->readonly = strcmp(opt, "--bind") != 0;
    op->optional = strcmp(opt, "--ro-bind-try") == 0;
}

static void apply_option(struct config *cfg, const char *opt, char **v)
{
    if (!strcmp(opt, "--root"))
        cfg->root = v[0];
    else if (!strcmp(opt, "--ro-bind") || !strcmp(opt, "--ro-bind-try") || !strcmp(opt, "--bind"))
        add_mount(cfg, OP_BIND, opt, v[0], v[1]);
    else if (!strcmp(opt, "--tmpfs")) {
        add_mount(cfg, OP_TMPFS, opt, NULL, v[0]);
        cfg->ops[cfg->n_ops - 1].size = parse_number(opt, v[1], ULLONG_MAX);
    } else if (!strcmp(opt, "--proc"))
        add_mount(cfg, OP_PROC, opt, NULL, v[0]);
    else if (!strcmp(opt, "--dev"))
        add_mount(cfg, OP_DEV, opt, NULL, v[0]);
    else if (!strcmp(opt, "--hostname"))
        cfg->hostname = v[0];
    else if (!strcmp(opt, "--unshare-net"))
        cfg->unshare_net = true;
    else if (!strcmp(opt, "--cgroup-procs"))
        cfg->cgroup_files[cfg->n_cgroups++] = v[0];
    else if (!strcmp(opt, "--setenv"))
        add_env(cfg, v[0], v[1]);
    else if (!strcmp(opt, "--chdir"))
        cfg->workdir = sandbox_path(opt, v[0]);
    else if (!strcmp(opt, "--status-fd")) {
        /* 0..2 are the program's stdio; the launcher closes its copy of the status fd. */
        cfg->status_fd = (int)parse_number(opt, v[0], INT_MAX);
        if (cfg->status_fd < 3)
            USAGE("--status-fd: must be 3 or more, got %d", cfg->status_fd);
    } else if (!strcmp(opt, "--uid"))
        cfg->uid = (long long)parse_number(opt, v[0], 0xfffffffeULL);
    else if (!strcmp(opt, "--gid"))
        cfg->gid = (long long)parse_number(opt, v[0], 0xfffffffeULL);
    else if (!strcmp(opt, "--seccomp"))
        cfg->seccomp_file = v[0];
    else if (!strcmp(opt, "--die-with-parent"))
        cfg->die_with_parent = true;
    else if (!strcmp(opt, "--netns"))
        cfg->netns = v[0];
    else if (!strcmp(opt, "--rlimit"))
        add_rlimit(cfg, v);
    else if (!strcmp(opt, "--new-cgroupns"))
        cfg->new_cgroupns = true;
    else if (!strcmp(opt, "--keep-caps"))
        cfg->keep_caps = true;
    else if (!strcmp(opt, "--hold"))
        cfg->hold_fifo = sandbox_path(opt, v[0]);
    else if (!strcmp(opt, "--env-fd")) {
        cfg->env_fd = (int)parse_number(opt, v[0], INT_MAX);
        if (cfg->env_fd < 3)
            USAGE("--env-fd: must be 3 or more, got %d", cfg->env_fd);
    }
}

static void parse_args(struct config *cfg, int argc, char **argv)
{
    int i = 1;

    /* argc bounds every repeatable option, so no array ever needs to grow. */
    cfg->ops = calloc(argc, sizeof *cfg->ops);
    cfg->cgroup_files = calloc(argc, sizeof *cfg->cgroup_files);
    cfg->env = calloc(argc + 1, sizeof *cfg->env);
    cfg->rlimits = calloc(argc, sizeof *cfg->rlimits);
    if (!cfg->ops || !cfg->cgroup_files || !cfg->env || !cfg->rlimits)
        DIE("args", "allocating");
    cfg->status_fd = cfg->env_fd = -1;
    cfg->uid = cfg->gid = -1;
    cfg->workdir = "/";

    while (i < argc && strcmp(argv[i], "--") != 0) {
        int n = option_arity(argv[i]);

        if (n < 0)
            USAGE("unknown option: '%s' (expected ol-launcher [OPTIONS] -- PROGRAM [ARGS...])",
                  argv[i]);
        if (i + n >= argc)
            USAGE("%s needs %d argument%s", argv[i], n, n == 1 ? "" : "s");
        apply_option(cfg, argv[i], &argv[i + 1]);
        i += 1 + n;
    }
    if (cfg->hold_fifo && i < argc)
        USAGE("--hold replaces '-- PROGRAM [ARGS...]': give one or the other");
    if (i + 1 >= argc && !cfg->hold_fifo)
        USAGE("missing '-- PROGRAM [ARGS...]'");
    if (!cfg->root)
        USAGE("--root DIR is required");
    if (cfg->netns && cfg->unshare_net)
        USAGE("--netns and --unshare-net exclude each other (join a namespace, or make a new one)");
    if (cfg->env_fd >= 0 && cfg->env_fd == cfg->status_fd)
        USAGE("--env-fd and --status-fd must be different fds");
    cfg->argv = cfg->hold_fifo ? NULL : &argv[i + 1];
}

/* ------------------------------------------------------------------------ */
/* Steps of L, the launcher, in the caller's namespaces                      */

static void die_with_parent(void)
{
    pid_t parent = getppid();

    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        DIE("die-with-parent", "prctl(PR_SET_PDEATHSIG)");
    /* The parent may have died before prctl() took effect. */
    if (getppid() != parent)
        fail(EXIT_SETUP, 0, "die-with-parent", "parent already exited");
}

static void check_status_fd(const struct config *cfg)
{
    if (cfg->status_fd >= 0 && fcntl(cfg->status_fd, F_GETFD) < 0)
        DIE("status-fd", "fd %d", cfg->status_fd);
}

/*
 * --env-fd: "NAME=VALUE" entries, each ended by a NUL byte, until EOF, set
 * after (and over) the --setenv ones. Values that must not be in the
 * process list (/proc/<pid>/cmdline, e.g. secrets) come this way; errors
 * name an entry by its position, never by its text.
 */
static void read_env_fd(struct config *cfg)
{
    char *buf = NULL, **env;
    size_t len = 0, cap = 0, count = 0;

    if (cfg->env_fd < 0)
        return;
    for (;;) {
        ssize_t n;

        if (len == cap && !(buf = realloc(buf, cap = cap ? 2 * cap : 4096)))
            DIE("env-fd", "allocating");
        n = read(cfg->env_fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            DIE("env-fd", "reading fd %d", cfg->env_fd);
        if (n == 0)
            break;
        len += n;
    }
    close(cfg->env_fd);
    if (len && buf[len - 1] != '\0')
        fail(EXIT_SETUP, 0, "env-fd", "the last entry does not end with a NUL byte");
    for (size_t i = 0; i < len; i++)
        count += buf[i] == '\0';
    if (!(env = realloc(cfg->env, (cfg->n_env + count + 1) * sizeof *env)))
        DIE("env-fd", "allocating");
    cfg->env = env;
    for (size_t i = 0, n = 1; i < len; i += strlen(buf + i) + 1, n++) {
        char *eq = strchr(buf + i, '=');

        if (!eq || eq == buf + i)
            fail(EXIT_SETUP, 0, "env-fd", "entry %zu is not NAME=VALUE", n);
        put_env(cfg, buf + i, eq - (buf + i));
    }
    cfg->env[cfg->n_env] = NULL;
}

/* Read the filter here, while the host filesystem is still visible. */
static void load_seccomp(struct config *cfg)
{
    struct stat st;
    char *buf;
    int fd;

    if (!cfg->seccomp_file)
        return;
    fd = open(cfg->seccomp_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0)
        DIE("seccomp", "%s", cfg->seccomp_file);
    if (st.st_size == 0 || st.st_size % sizeof(struct sock_filter) ||
        st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
        fail(EXIT_SETUP, 0, "seccomp", "%s: size %lld is not 1..%d sock_filter entries",
             cfg->seccomp_file, (long long)st.st_size, BPF_MAXINSNS);
    buf = malloc(st.st_size);
    if (!buf)
        DIE("seccomp", "allocating");
    for (off_t got = 0; got < st.st_size;) {
        ssize_t n = read(fd, buf + got, st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            fail(EXIT_SETUP, n < 0 ? errno : EIO, "seccomp", "reading %s", cfg->seccomp_file);
        got += n;
    }
    close(fd);
    cfg->seccomp.len = st.st_size / sizeof(struct sock_filter);
    cfg->seccomp.filter = (struct sock_filter *)buf;
}

/*
 * Joined by L itself, before clone(): C then starts in that network namespace
 * like every process of the sandbox. L only supervises, so it does not matter
 * that it stays there too.
 */
static void join_netns(const struct config *cfg)
{
    int fd;

    if (!cfg->netns)
        return;
    fd = open(cfg->netns, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        DIE("netns", "opening %s", cfg->netns);
    if (setns(fd, CLONE_NEWNET) < 0)
        DIE("netns", "joining %s (is it a network namespace file, e.g. /run/netns/NAME?)", cfg->netns);
    close(fd);
}

/* Joined before any child exists, so every sandbox process starts inside the cgroups. */
static void join_cgroups(const struct config *cfg)
{
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());

    for (size_t i = 0; i < cfg->n_cgroups; i++) {
        int fd = open(cfg->cgroup_files[i], O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, pid, len) != len)
            DIE("cgroup", "joining %s", cfg->cgroup_files[i]);
        close(fd);
    }
}

/*
 * Blocked before clone() so that no signal is lost between clone and the wait
 * loops; C inherits the mask, which also lets the caller's signals reach C as
 * pid-namespace init (blocked signals are queued, not ignored).
 */
static void block_forwarded_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGCHLD);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, set, NULL) < 0)
        DIE("signals", "sigprocmask");
}

static pid_t clone_sandbox(const struct config *cfg)
{
    unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
    pid_t pid;

    if (cfg->unshare_net)
        flags |= CLONE_NEWNET;
    /* After the cgroups were joined: the sandbox sees its own cgroup as "/". */
    if (cfg->new_cgroupns)
        flags |= CLONE_NEWCGROUP;
    /* Raw clone with a NULL stack behaves like fork() into new namespaces. */
    pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
    if (pid < 0)
        DIE("clone", "new namespaces");
    return pid;
}

/* Must come before the program can write its own lines: C waits on `sync_fd`. */
static void report_pid(const struct config *cfg, pid_t child, int sync_fd)
{
    char line[32];
    int len = snprintf(line, sizeof line, "pid %d\n", (int)child);

    if (cfg->status_fd >= 0) {
        if (write(cfg->status_fd, line, len) != len) {
            int err = errno;
            kill(child, SIGKILL);
            fail(EXIT_SETUP, err, "status-fd", "writing pid to fd %d", cfg->status_fd);
        }
        close(cfg->status_fd);
    }
    /* EPIPE: C already failed and exited; its exit status tells the caller. */
    if (write(sync_fd, "1", 1) != 1 && errno != EPIPE)
        DIE("sync", "releasing the sandbox");
    close(sync_fd);
}

static int exit_code_of(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return EXIT_SETUP;
}

/* L's loop: forward TERM/INT/HUP to C, return C's status when it exits. */
static int supervise(pid_t child, const sigset_t *set)
{
    for (;;) {
        int status, sig = sigwaitinfo(set, NULL);

        if (sig < 0 && errno != EINTR)
            DIE("supervise", "sigwaitinfo");
        if (sig == SIGCHLD && waitpid(child, &status, WNOHANG) == child)
            return exit_code_of(status);
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
            kill(child, sig);
    }
}

/* ------------------------------------------------------------------------ */
/* Building the root, in C                                                   */

/* out = a + b. A path that does not fit is an error, never silently cut. */
static void join_path(char out[PATH_MAX], const char *a, const char *b)
{
    if (snprintf(out, PATH_MAX, "%s%s", a, b) >= PATH_MAX)
        fail(EXIT_SETUP, ENAMETOOLONG, "mount", "%s%s", a, b);
}

/* Create the missing directories of `path` below `root`; refuse symlinks, which
 * could point outside the root before pivot_root. */
static void make_parents(const char *root, const char *path)
{
    char buf[PATH_MAX];
    size_t skip = strlen(root);
    struct stat st;

    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + skip + 1; (p = strchr(p, '/')); *p++ = '/') {
        *p = '\0';
        if (lstat(buf, &st) == 0) {
            if (S_ISLNK(st.st_mode))
                fail(EXIT_SETUP, 0, "mount", "%s: a parent is a symlink", path + skip);
            if (!S_ISDIR(st.st_mode))
                fail(EXIT_SETUP, ENOTDIR, "mount", "%s", buf + skip);
        } else if (errno != ENOENT || mkdir(buf, 0755) < 0)
            DIE("mount", "creating %s", buf + skip);
    }
}

/* Resolve `dst` below the root and make sure a mount point of the right type
 * (directory or file) exists there. */
static void mount_point(const char *root, const char *dst, bool dir, char out[PATH_MAX])
{
    struct stat st;
    int fd;

    join_path(out, root, dst);
    make_parents(root, out);
    if (lstat(out, &st) == 0) {
        if (S_ISLNK(st.st_mode))
            fail(EXIT_SETUP, 0, "mount", "%s: is a symlink", dst);
        return;
    }
    if (dir ? mkdir(out, 0755) < 0
            : (fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0 || close(fd) < 0)
        DIE("mount", "creating %s", dst);
}

static void set_mount_attr(const char *path, unsigned long long attrs, bool recursive)
{
    struct mount_attr attr = { .attr_set = attrs };

    if (mount_setattr(AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &attr, sizeof attr) < 0)
        DIE("mount", "setting flags on %s", path);
}

static void bind_mount(const char *src, const char *target, unsigned long long attrs)
{
    if (mount(src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
        DIE("mount", "bind %s", src);
    /* mount_setattr reaches submounts too, unlike a MS_REMOUNT of the bind. */
    set_mount_attr(target, attrs, true);
}

/* A symlink source (e.g. /bin -> usr/bin on merged-usr) is recreated as the
 * same symlink, so it resolves inside the sandbox like on the host. */
static void copy_symlink(const char *root, const struct mount_op *op)
{
    char target[PATH_MAX], link[PATH_MAX];
    ssize_t n = readlink(op->src, target, sizeof target - 1);

    if (n < 0)
        DIE("mount", "readlink %s", op->src);
    target[n] = '\0';
    join_path(link, root, op->dst);
    make_parents(root, link);
    if (symlink(target, link) < 0)
        DIE("mount", "symlink %s -> %s", op->dst, target);
}

static void mount_bind(const char *root, const struct mount_op *op)
{
    char target[PATH_MAX];
    struct stat st;
    unsigned long long attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

    if (lstat(op->src, &st) < 0) {
        if (errno == ENOENT && op->optional)
            return;
        DIE("mount", "bind source %s", op->src);
    }
    if (S_ISLNK(st.st_mode)) {
        copy_symlink(root, op);
        return;
    }
    mount_point(root, op->dst, S_ISDIR(st.st_mode), target);
    bind_mount(op->src, target, attrs | (op->readonly ? MOUNT_ATTR_RDONLY : 0));
}

static void mount_tmpfs(const char *target, const char *mode, unsigned long long size)
{
    char opts[64];

    if (size)
        snprintf(opts, sizeof opts, "mode=%s,size=%llu", mode, size);
    else
        snprintf(opts, sizeof opts, "mode=%s", mode);
    if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
        DIE("mount", "tmpfs on %s", target);
}

/* uid 0 without capabilities may still write many sysctls and sysrq-trigger:
 * make those read-only, as bubblewrap does. */
static void mount_proc(const char *target)
{
    static const char *const covered[] = { "/sys", "/sysrq-trigger", "/irq", "/bus" };
    char path[PATH_MAX];

    if (mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        DIE("mount", "proc on %s", target);
    for (size_t i = 0; i < sizeof covered / sizeof covered[0]; i++) {
        join_path(path, target, covered[i]);
        if (access(path, F_OK) == 0)
            bind_mount(path, path, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                       MOUNT_ATTR_NOEXEC);
    }
}

/* A minimal /dev. Device nodes are host inodes: bind them read-only so that
 * uid 0 in the sandbox cannot chmod them (writing to a device still works). */
static void mount_dev(const char *target)
{
    static const char *const devices[] = { "/null", "/zero", "/full", "/random", "/urandom", "/tty" };
    static const char *const links[][2] = {
        { "/fd", "/proc/self/fd" },
        { "/stdin", "/proc/self/fd/0" },
        { "/stdout", "/proc/self/fd/1" },
        { "/stderr", "/proc/self/fd/2" },
    };
    char path[PATH_MAX], host[PATH_MAX];

    mount_tmpfs(target, "0755", 0);
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
        join_path(host, "/dev", devices[i]);
        join_path(path, target, devices[i]);
        if (mknod(path, S_IFREG | 0644, 0) < 0) /* an empty file to bind onto */
            DIE("mount", "creating %s", path);
        bind_mount(host, path, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
    }
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        join_path(path, target, links[i][0]);
        if (symlink(links[i][1], path) < 0)
            DIE("mount", "symlink %s", path);
    }
    join_path(path, target, "/shm");
    if (mkdir(path, 0755) < 0)
        DIE("mount", "creating %s", path);
    mount_tmpfs(path, "1777", 0);
    /* Not recursive: /dev/shm stays writable. */
    set_mount_attr(target, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, false);
}

static void apply_mount(const char *root, const struct mount_op *op)
{
    char target[PATH_MAX];

    switch (op->kind) {
    case OP_BIND:
        mount_bind(root, op);
        break;
    case OP_TMPFS:
        mount_point(root, op->dst, true, target);
        mount_tmpfs(target, "1777", op->size);
        break;
    case OP_PROC:
        mount_point(root, op->dst, true, target);
        mount_proc(target);
        break;
    case OP_DEV:
        mount_point(root, op->dst, true, target);
        mount_dev(target);
        break;
    }
}

/* Our mounts must not propagate back to the host, nor host mounts into us. */
static void make_mounts_private(void)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        DIE("mount", "making / private");
}

static void build_root(const struct config *cfg)
{
    if (mount("tmpfs", cfg->root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
        DIE("root", "tmpfs on %s", cfg->root);
    for (size_t i = 0; i < cfg->n_ops; i++)
        apply_mount(cfg->root, &cfg->ops[i]);
}

static void set_hostname(const struct config *cfg)
{
    if (cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
        DIE("hostname", "'%s'", cfg->hostname);
}

/* A new network namespace starts with lo down; bring it up so 127.0.0.1 works. */
static void bring_up_loopback(const struct config *cfg)
{
    struct ifreq ifr = { .ifr_name = "lo" };
    int s;

    if (!cfg->unshare_net)
        return;
    s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        DIE("network", "reading flags of lo");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        DIE("network", "bringing up lo");
    close(s);
}

/* pivot_root(".", ".") stacks the old root on top of the new one; detaching
 * it leaves the host's tree unreachable, without needing a put_old directory. */
static void pivot_into_root(const struct config *cfg)
{
    if (chdir(cfg->root) < 0)
        DIE("pivot_root", "chdir %s", cfg->root);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        DIE("pivot_root", "%s", cfg->root);
    if (umount2(".", MNT_DETACH) < 0)
        DIE("pivot_root", "detaching the old root");
    if (chdir("/") < 0)
        DIE("pivot_root", "chdir /");
}

static void seal_root(const struct config *cfg)
{
    set_mount_attr("/", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, false);
    if (chdir(cfg->workdir) < 0)
        DIE("chdir", "%s", cfg->workdir);
}

/* ------------------------------------------------------------------------ */
/* Privileges, in C and G                                                    */

/* Needs CAP_SETPCAP, so G does it before changing uid. */
static void drop_bounding_and_ambient(void)
{
    for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
            DIE("capabilities", "dropping bounding capability %d", cap);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        DIE("capabilities", "clearing ambient set");
}

static void clear_capability_sets(void)
{
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { { 0 } };

    if (syscall(SYS_capset, &hdr, data) < 0)
        DIE("capabilities", "capset to zero");
}

static void set_no_new_privs(void)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        DIE("no_new_privs", "prctl(PR_SET_NO_NEW_PRIVS)");
}

static void drop_all_privileges(void)
{
    drop_bounding_and_ambient();
    clear_capability_sets();
    set_no_new_privs();
}

/* ------------------------------------------------------------------------ */
/* G: the program                                                            */

/* The program starts with default signal handling and an empty mask, whatever
 * the launcher's caller left behind. */
static void reset_signals(void)
{
    sigset_t none;

    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);   /* fails harmlessly for KILL, STOP and RT-reserved */
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
        DIE("signals", "sigprocmask");
}

static void close_other_fds(int keep)
{
    if (keep < 0) {
        if (close_range(3, ~0U, 0) < 0)
            DIE("fds", "close_range");
        return;
    }
    if ((keep > 3 && close_range(3, keep - 1, 0) < 0) || close_range(keep + 1, ~0U, 0) < 0)
        DIE("fds", "close_range");
    if (fcntl(keep, F_SETFD, 0) < 0)
        DIE("status-fd", "clearing close-on-exec on fd %d", keep);
}

static void switch_user(const struct config *cfg)
{
    if (cfg->uid < 0 && cfg->gid < 0)
        return;
    if (setgroups(0, NULL) < 0)
        DIE("user", "setgroups([])");
    if (cfg->gid >= 0 && setgid((gid_t)cfg->gid) < 0)
        DIE("user", "setgid %lld", cfg->gid);
    if (cfg->uid >= 0 && setuid((uid_t)cfg->uid) < 0)
        DIE("user", "setuid %lld", cfg->uid);
}

/* In G, while still root: the limits hold for the program and everything it forks. */
static void set_rlimits(const struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_rlimits; i++)
        if (setrlimit(cfg->rlimits[i].resource, &cfg->rlimits[i].limit) < 0)
            DIE("rlimit", "setting resource %d", cfg->rlimits[i].resource);
}

static void install_seccomp(const struct config *cfg)
{
    if (cfg->seccomp.filter &&
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &cfg->seccomp) < 0)
        DIE("seccomp", "installing filter from %s", cfg->seccomp_file);
}

/*
 * --hold, instead of a program: the sandbox a zygote forks an instance into
 * (plugins/sock/zygote-sandbox.ts) only has to live until that instance
 * ends, and end with its status. Make the FIFO, say ready, and wait for the
 * status line the instance's reaper writes there; EOF without one is 0.
 * Done here rather than by a shell: no exec, no fork of mkfifo.
 */
static _Noreturn void hold(const struct config *cfg)
{
    char code[16] = { 0 };
    size_t got = 0;
    int fd;

    if (mkfifo(cfg->hold_fifo, 0600) < 0)
        DIE("hold", "mkfifo %s", cfg->hold_fifo);
    if (cfg->status_fd >= 0) {
        if (write(cfg->status_fd, "ready\n", 6) != 6)
            DIE("status-fd", "writing ready to fd %d", cfg->status_fd);
        close(cfg->status_fd);
    }
    while ((fd = open(cfg->hold_fifo, O_RDONLY | O_CLOEXEC)) < 0)
        if (errno != EINTR)
            DIE("hold", "opening %s", cfg->hold_fifo);
    while (got < sizeof code - 1) {
        ssize_t n = read(fd, code + got, sizeof code - 1 - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || memchr(code + got, '\n', n))
            break;
        got += n;
    }
    _exit(atoi(code) & 0xff);
}

static _Noreturn void run_program(const struct config *cfg)
{
    reset_signals();
    /* No controlling terminal: no TIOCSTI into the caller's tty (CVE-2017-5226),
     * and a terminal's ^C reaches the program only once, through forwarding. */
    setsid();
    close_other_fds(cfg->status_fd);
    set_rlimits(cfg);
    /* --keep-caps: a zygote builds its leaves' namespaces and root (setns, chroot,
     * setuid); each leaf drops everything itself before running function code. */
    if (!cfg->keep_caps)
        drop_bounding_and_ambient();
    switch_user(cfg);
    /* After switch_user: a uid change clears the parent-death signal. C is pid 1. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        DIE("die-with-parent", "prctl(PR_SET_PDEATHSIG)");
    if (getppid() != 1)
        fail(EXIT_SETUP, 0, "die-with-parent", "sandbox init already exited");
    if (!cfg->keep_caps)
        clear_capability_sets();
    set_no_new_privs();
    install_seccomp(cfg);
    if (cfg->hold_fifo)
        hold(cfg);
    execve(cfg->argv[0], cfg->argv, cfg->env);
    fail(EXIT_EXEC, errno, "exec", "%s", cfg->argv[0]);
}

/* ------------------------------------------------------------------------ */
/* C: init of the new pid namespace                                          */

/* Returns once L has written the pid line; EOF means L died. */
static void wait_for_launcher(int sync_fd)
{
    char c;
    ssize_t n;

    while ((n = read(sync_fd, &c, 1)) < 0 && errno == EINTR)
        ;
    if (n != 1)
        fail(EXIT_SETUP, 0, "sync", "launcher exited before the sandbox started");
    close(sync_fd);
}

/* Reap every child, including orphans re-parented to us; forward TERM/INT/HUP
 * to the program; return the program's status when it exits. Our exit then
 * makes the kernel kill whatever is left in the namespace. */
static int init_loop(pid_t program, const sigset_t *set)
{
    for (;;) {
        int status, sig = sigwaitinfo(set, NULL);
        pid_t pid;

        if (sig < 0 && errno != EINTR)
            DIE("init", "sigwaitinfo");
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
            kill(program, sig);
        if (sig != SIGCHLD)
            continue;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
            if (pid == program)
                return exit_code_of(status);
    }
}

static _Noreturn void sandbox_init(const struct config *cfg, int sync_fd, const sigset_t *set)
{
    pid_t program;

    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        DIE("die-with-parent", "prctl(PR_SET_PDEATHSIG)");
    make_mounts_private();
    build_root(cfg);
    set_hostname(cfg);
    bring_up_loopback(cfg);
    pivot_into_root(cfg);
    seal_root(cfg);
    wait_for_launcher(sync_fd);

    program = fork();
    if (program < 0)
        DIE("fork", "program");
    if (program == 0)
        run_program(cfg);

    /* From here on init holds no host fd and no privilege, and runs under the
     * program's seccomp filter too: every process of the sandbox is filtered. */
    close_range(3, ~0U, 0);
    drop_all_privileges();
    install_seccomp(cfg);
    _exit(init_loop(program, set));
}

/* ------------------------------------------------------------------------ */

/*
 * `ol-launcher --reap FD`, alone: pid 1 of the pid namespace of an instance
 * forked from a zygote (plugins/sock/runtime/ol_zygote.py), which execs this
 * in place of its copy of the zygote's Python image: that memory would
 * otherwise be held as long as the instance lives. It stays uid 0 (the
 * instance, another uid, cannot signal or trace it) but drops every
 * capability and is not dumpable. FD is a Unix socket on which the instance
 * sends the holder's FIFO (see --hold) once it entered its sandbox. Reap
 * every child; when pid 2 (the instance) exits, write its exit status as a
 * line to the FIFO and exit with it.
 */
static _Noreturn void reap(const char *sock_arg)
{
    int sock = (int)parse_number("--reap", sock_arg, INT_MAX), fifo = -1;
    char byte, control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
    struct cmsghdr *cmsg;

    drop_all_privileges();
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        DIE("reap", "prctl(PR_SET_DUMPABLE)");
    /* EOF: the instance ended (or failed) before it entered its sandbox; nobody waits for a status. */
    while (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 0 && errno == EINTR)
        ;
    cmsg = CMSG_FIRSTHDR(&msg);
    if (cmsg && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
        memcpy(&fifo, CMSG_DATA(cmsg), sizeof fifo);
    close(sock);
    for (;;) {
        int status, code;
        pid_t pid = waitpid(-1, &status, 0);

        if (pid < 0 && errno == EINTR)
            continue;
        if (pid < 0)
            _exit(0); /* no child left: the instance is gone, its status with it */
        if (pid != 2)
            continue;
        code = exit_code_of(status);
        if (fifo >= 0)
            dprintf(fifo, "%d\n", code);
        _exit(code);
    }
}

int main(int argc, char **argv)
{
    struct config cfg = { 0 };
    sigset_t forwarded;
    int sync[2];
    pid_t child;

    if (argc == 3 && strcmp(argv[1], "--reap") == 0)
        reap(argv[2]);
    parse_args(&cfg, argc, argv);
    if (cfg.die_with_parent)
        die_with_parent();
    check_status_fd(&cfg);
    read_env_fd(&cfg);
    load_seccomp(&cfg);
    join_cgroups(&cfg);
    join_netns(&cfg);
    block_forwarded_signals(&forwarded);
    if (pipe2(sync, O_CLOEXEC) < 0)
        DIE("sync", "pipe");

    child = clone_sandbox(&cfg);
    if (child == 0) {
        close(sync[1]);
        sandbox_init(&cfg, sync[0], &forwarded);
    }
    close(sync[0]);
    /* A caller that closed the status pipe must not kill L with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    report_pid(&cfg, child, sync[1]);
    return supervise(child, &forwarded);
}
