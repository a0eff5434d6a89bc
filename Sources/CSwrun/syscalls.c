// syscalls.c: thin wrappers over syscalls and macros Swift cannot reach (see cswrun.h).
#define _GNU_SOURCE
#include "cswrun.h"
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <spawn.h>
#include <termios.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/statvfs.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/nsfs.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <linux/keyctl.h>
#include <seccomp.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif

const int SWRUN_CLONE_NEWNS = CLONE_NEWNS;
const int SWRUN_CLONE_NEWUTS = CLONE_NEWUTS;
const int SWRUN_CLONE_NEWIPC = CLONE_NEWIPC;
const int SWRUN_CLONE_NEWNET = CLONE_NEWNET;
const int SWRUN_CLONE_NEWPID = CLONE_NEWPID;
const int SWRUN_CLONE_NEWUSER = CLONE_NEWUSER;
const int SWRUN_CLONE_NEWCGROUP = CLONE_NEWCGROUP;
const int SWRUN_CLONE_NEWTIME = CLONE_NEWTIME;

const int SWRUN_O_PATH = O_PATH;
const uint64_t SWRUN_RESOLVE_IN_ROOT = RESOLVE_IN_ROOT;
const uint64_t SWRUN_RESOLVE_NO_SYMLINKS = RESOLVE_NO_SYMLINKS;
const uint64_t SWRUN_RESOLVE_NO_MAGICLINKS = RESOLVE_NO_MAGICLINKS;
const uint64_t SWRUN_RESOLVE_NO_XDEV = RESOLVE_NO_XDEV;
const uint64_t SWRUN_RESOLVE_BENEATH = RESOLVE_BENEATH;

const unsigned SWRUN_OPEN_TREE_CLONE = OPEN_TREE_CLONE;
const unsigned SWRUN_AT_RECURSIVE = AT_RECURSIVE;
const unsigned SWRUN_AT_EMPTY_PATH = AT_EMPTY_PATH;
const unsigned SWRUN_AT_SYMLINK_NOFOLLOW = AT_SYMLINK_NOFOLLOW;
const uint64_t SWRUN_MOUNT_ATTR_RDONLY = MOUNT_ATTR_RDONLY;
const uint64_t SWRUN_MOUNT_ATTR_NOSUID = MOUNT_ATTR_NOSUID;
const uint64_t SWRUN_MOUNT_ATTR_NODEV = MOUNT_ATTR_NODEV;
const uint64_t SWRUN_MOUNT_ATTR_NOEXEC = MOUNT_ATTR_NOEXEC;
const uint64_t SWRUN_MOUNT_ATTR__ATIME = MOUNT_ATTR__ATIME;
const uint64_t SWRUN_MOUNT_ATTR_RELATIME = MOUNT_ATTR_RELATIME;
const uint64_t SWRUN_MOUNT_ATTR_NOATIME = MOUNT_ATTR_NOATIME;
const uint64_t SWRUN_MOUNT_ATTR_STRICTATIME = MOUNT_ATTR_STRICTATIME;
const uint64_t SWRUN_MOUNT_ATTR_NODIRATIME = MOUNT_ATTR_NODIRATIME;
const uint64_t SWRUN_MOUNT_ATTR_NOSYMFOLLOW = MOUNT_ATTR_NOSYMFOLLOW;

const int SWRUN_PR_SET_PDEATHSIG = PR_SET_PDEATHSIG;
const int SWRUN_PR_SET_DUMPABLE = PR_SET_DUMPABLE;
const int SWRUN_PR_SET_KEEPCAPS = PR_SET_KEEPCAPS;
const int SWRUN_PR_SET_NO_NEW_PRIVS = PR_SET_NO_NEW_PRIVS;
const int SWRUN_PR_CAPBSET_DROP = PR_CAPBSET_DROP;
const int SWRUN_PR_CAPBSET_READ = PR_CAPBSET_READ;
const int SWRUN_PR_SET_CHILD_SUBREAPER = PR_SET_CHILD_SUBREAPER;
const int SWRUN_PR_CAP_AMBIENT = PR_CAP_AMBIENT;
const unsigned long SWRUN_PR_CAP_AMBIENT_CLEAR_ALL = PR_CAP_AMBIENT_CLEAR_ALL;

pid_t swrun_fork(int flags) {
    // Raw clone with a NULL stack behaves like fork(2) but accepts CLONE_NEW* flags.
    return (pid_t)syscall(SYS_clone, (unsigned long)(flags | SIGCHLD), 0UL, NULL, NULL, 0UL);
}

struct swrun_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
#define SWRUN_CLONE_INTO_CGROUP 0x200000000ULL

pid_t swrun_fork_into_cgroup(int flags, int cgroup_fd) {
    struct swrun_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = (uint64_t)(unsigned)flags | SWRUN_CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)cgroup_fd;
    // No stack: the child continues on a copy of the caller's, as with fork(2).
    return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

#define SWRUN_CLONE_PARENT 0x00008000ULL
#define SWRUN_CLONE_PIDFD 0x00001000ULL

pid_t swrun_fork_sibling(int flags, int *pidfd) {
    struct swrun_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = (uint64_t)(unsigned)flags | SWRUN_CLONE_PARENT | SWRUN_CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)pidfd;
    // With CLONE_PARENT the child's exit signal is the caller's own (SIGCHLD to our parent).
    args.exit_signal = 0;
    return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

int swrun_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5) {
    return prctl(option, a2, a3, a4, a5);
}

int swrun_setns(int fd, int nstype) { return setns(fd, nstype); }
int swrun_unshare(int flags) { return unshare(flags); }

int swrun_pivot_root(const char *new_root, const char *put_old) {
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}

int swrun_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = flags;
    how.mode = mode;
    how.resolve = resolve;
    int r;
    do {
        r = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    } while (r < 0 && (errno == EINTR || errno == EAGAIN));
    return r;
}

int swrun_close_range(unsigned first, unsigned last, unsigned flags) {
    return (int)syscall(SYS_close_range, first, last, flags);
}

int swrun_mark_cloexec_from(unsigned first) {
    return (int)syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC);
}

int swrun_open_tree(int dirfd, const char *path, unsigned flags) {
    return (int)syscall(SYS_open_tree, dirfd, path, flags | OPEN_TREE_CLOEXEC);
}

int swrun_move_mount_fd(int from_fd, int to_fd) {
    return (int)syscall(SYS_move_mount, from_fd, "", to_fd, "",
                        MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

int swrun_fsopen(const char *fstype) { return (int)syscall(SYS_fsopen, fstype, FSOPEN_CLOEXEC); }

int swrun_fsconfig_string(int fd, const char *key, const char *value) {
    return (int)syscall(SYS_fsconfig, fd, FSCONFIG_SET_STRING, key, value, 0);
}

int swrun_fsconfig_flag(int fd, const char *key) {
    return (int)syscall(SYS_fsconfig, fd, FSCONFIG_SET_FLAG, key, NULL, 0);
}

int swrun_fsconfig_create(int fd) {
    return (int)syscall(SYS_fsconfig, fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
}

int swrun_fsmount(int fd, uint64_t attr) {
    return (int)syscall(SYS_fsmount, fd, FSMOUNT_CLOEXEC, (unsigned)attr);
}

int swrun_mount_setattr(int dirfd, const char *path, unsigned flags,
                        uint64_t attr_set, uint64_t attr_clr, uint64_t propagation) {
    struct mount_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.attr_set = attr_set;
    attr.attr_clr = attr_clr;
    attr.propagation = propagation;
    return (int)syscall(SYS_mount_setattr, dirfd, path, flags, &attr, sizeof attr);
}

int swrun_mount_setattr_idmap(int fd, int recursive, int userns_fd) {
    struct mount_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.attr_set = 0x00100000; // MOUNT_ATTR_IDMAP
    attr.userns_fd = (uint64_t)userns_fd;
    unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
    return (int)syscall(SYS_mount_setattr, fd, "", flags, &attr, sizeof attr);
}

int swrun_fs_errlog(int fd, char *buf, size_t len) {
    ssize_t n = read(fd, buf, len - 1);
    if (n < 0) return -1;
    buf[n] = 0;
    return (int)n;
}

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
const unsigned SWRUN_SECCOMP_FLAG_NEW_LISTENER = SECCOMP_FILTER_FLAG_NEW_LISTENER;

int swrun_seccomp_install(const void *insns, size_t count, unsigned flags) {
    struct sock_fprog prog = { .len = (unsigned short)count, .filter = (struct sock_filter *)insns };
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

int swrun_join_session_keyring(const char *name) {
    return (int)syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name, 0, 0, 0);
}

int swrun_loopback_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    int r = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (r == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        r = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    int saved = errno;
    close(s);
    errno = saved;
    return r;
}

int swrun_ns_get_type(int fd) { return ioctl(fd, NS_GET_NSTYPE); }

int swrun_wifexited(int status) { return WIFEXITED(status); }
int swrun_wexitstatus(int status) { return WEXITSTATUS(status); }
int swrun_wifsignaled(int status) { return WIFSIGNALED(status); }
int swrun_wtermsig(int status) { return WTERMSIG(status); }
uint64_t swrun_makedev(unsigned major, unsigned minor) { return makedev(major, minor); }
unsigned swrun_major(uint64_t dev) { return major(dev); }
unsigned swrun_minor(uint64_t dev) { return minor(dev); }

static volatile pid_t forward_pid = 0;

static void forward_handler(int sig) {
    int saved = errno;
    if (forward_pid > 0) kill(forward_pid, sig);
    errno = saved;
}

int swrun_forward_signals_to(pid_t pid) {
    forward_pid = pid;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD || sig == SIGPIPE) continue;
        if (sig == 32 || sig == 33) continue; // reserved by glibc for threads
        sigaction(sig, &sa, NULL);
    }
    return 0;
}

int swrun_block_all_signals(void *oldset, size_t len) {
    if (len < sizeof(sigset_t)) { errno = EINVAL; return -1; }
    sigset_t all;
    sigfillset(&all);
    return sigprocmask(SIG_SETMASK, &all, (sigset_t *)oldset);
}

int swrun_restore_signals(const void *oldset) {
    return sigprocmask(SIG_SETMASK, (const sigset_t *)oldset, NULL);
}

/* The SigIgn and SigCgt masks of /proc/self/status: the signals whose disposition is not
 * the default. Returns 0 and sets *mask, or -1 (then every signal is reset). */
static int non_default_signals(uint64_t *mask) {
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    int found = 0;
    *mask = 0;
    for (char *line = buf; line && *line;) {
        char *next = strchr(line, '\n');
        if (next) *next++ = 0;
        if (strncmp(line, "SigIgn:", 7) == 0 || strncmp(line, "SigCgt:", 7) == 0) {
            char *end = NULL;
            errno = 0;
            unsigned long long v = strtoull(line + 7, &end, 16);
            if (errno != 0 || end == line + 7) return -1;
            *mask |= v;
            found++;
        }
        line = next;
    }
    return found == 2 ? 0 : -1;
}

int swrun_reset_signal_dispositions(void) {
    /* The kernel's struct for rt_sigaction(2): glibc's sigaction() refuses signals 32 and 33
     * (its own), which a caller may still have ignored. SIG_DFL needs no restorer. */
    struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } dfl = {SIG_DFL, 0, NULL, 0};
    /* Only what is ignored or caught (usually a handful, not 62 calls); all of them if
     * /proc cannot say. */
    uint64_t mask = ~0ULL;
    if (non_default_signals(&mask) != 0) mask = ~0ULL;
    for (int sig = 1; sig <= 64; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || !(mask & (1ULL << (sig - 1)))) continue;
        syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(uint64_t));
    }
    return 0;
}

uint32_t swrun_scmp_act_errno(uint32_t errnum) { return SCMP_ACT_ERRNO(errnum); }
uint32_t swrun_scmp_act_trace(uint32_t msg) { return SCMP_ACT_TRACE(msg); }

int swrun_seccomp_export(void *ctx, void **out, size_t *len) {
    // libseccomp 2.5.4 has no seccomp_export_bpf_mem: export into a memfd and read it back.
    int fd = memfd_create("swrun-bpf", MFD_CLOEXEC);
    if (fd < 0) return -errno;
    int rc = seccomp_export_bpf((scmp_filter_ctx)ctx, fd);
    if (rc < 0) { close(fd); return rc; }
    off_t size = lseek(fd, 0, SEEK_END);
    if (size < 0) { int e = errno; close(fd); return -e; }
    void *buf = malloc((size_t)size ? (size_t)size : 1);
    if (!buf) { close(fd); return -ENOMEM; }
    ssize_t got = pread(fd, buf, (size_t)size, 0);
    int e = errno;
    close(fd);
    if (got != size) { free(buf); return got < 0 ? -e : -EIO; }
    *out = buf;
    *len = (size_t)size;
    return 0;
}

int swrun_setresuid(uid_t uid) { return setresuid(uid, uid, uid); }
int swrun_setresgid(gid_t gid) { return setresgid(gid, gid, gid); }
int swrun_pipe_cloexec(int *fds) { return pipe2(fds, O_CLOEXEC); }
long swrun_fstatfs_type(int fd) {
    struct statfs s;
    if (fstatfs(fd, &s) != 0) return -1;
    return (long)s.f_type;
}
int swrun_stat(const char *path, void *st) { return stat(path, (struct stat *)st); }
int swrun_flock(int fd, int op) { return flock(fd, op); }

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int swrun_close_fds_except(const int *keep, size_t count) {
    int sorted[256];
    if (count > 256) { errno = EINVAL; return -1; }
    memcpy(sorted, keep, count * sizeof(int));
    qsort(sorted, count, sizeof(int), cmp_int);
    unsigned next = 3;
    for (size_t i = 0; i < count; i++) {
        if (sorted[i] < (int)next) continue;
        if ((unsigned)sorted[i] > next && syscall(SYS_close_range, next, (unsigned)sorted[i] - 1, 0) != 0) return -1;
        next = (unsigned)sorted[i] + 1;
    }
    return (int)syscall(SYS_close_range, next, ~0U, 0);
}

int swrun_pty_open(char *name, size_t len) {
    int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0) return -1;
    if (unlockpt(m) != 0 || ptsname_r(m, name, len) != 0) {
        int e = errno;
        close(m);
        errno = e;
        return -1;
    }
    return m;
}

int swrun_set_ctty(int fd) { return ioctl(fd, TIOCSCTTY, 0); }

int swrun_set_winsize(int fd, unsigned short rows, unsigned short cols) {
    struct winsize ws = { .ws_row = rows, .ws_col = cols };
    return ioctl(fd, TIOCSWINSZ, &ws);
}

int swrun_get_winsize(int fd, unsigned short *rows, unsigned short *cols) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) != 0) return -1;
    *rows = ws.ws_row;
    *cols = ws.ws_col;
    return 0;
}

int swrun_unix_connect(const char *path) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr.sun_path) { errno = ENAMETOOLONG; return -1; }
    strcpy(addr.sun_path, path);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    if (connect(s, (struct sockaddr *)&addr, sizeof addr) != 0) {
        int e = errno;
        close(s);
        errno = e;
        return -1;
    }
    return s;
}

int swrun_send_fd(int sock, int fd, const void *payload, size_t len) {
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = { .iov_base = (void *)payload, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    ssize_t n;
    do { n = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : 0;
}

int swrun_tty_make_raw(int fd, void *saved, size_t len) {
    if (len < sizeof(struct termios)) { errno = EINVAL; return -1; }
    struct termios t;
    if (tcgetattr(fd, &t) != 0) return -1;
    memcpy(saved, &t, sizeof t);
    cfmakeraw(&t);
    return tcsetattr(fd, TCSANOW, &t);
}

int swrun_tty_restore(int fd, const void *saved) { return tcsetattr(fd, TCSANOW, (const struct termios *)saved); }

/* Output post-processing without NL -> CR NL (runc's console.ClearONLCR): the container's
 * program writes "\n" and a client that stores its output gets "\n". */
int swrun_tty_clear_onlcr(int fd) {
    struct termios t;
    if (tcgetattr(fd, &t) != 0) return -1;
    t.c_oflag &= ~(tcflag_t)ONLCR;
    return tcsetattr(fd, TCSANOW, &t);
}

int swrun_recv_fd(int sock) {
    char buf[256], cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
    ssize_t n;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) { errno = EBADMSG; return -1; }
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

int swrun_stream_pair(int *fds) { return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds); }

int swrun_bpf_attach_device_filter(const void *insns, size_t count, int cgroup_fd, char *log, size_t loglen) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    a.insns = (uint64_t)(uintptr_t)insns;
    a.insn_cnt = (uint32_t)count;
    a.license = (uint64_t)(uintptr_t)"Apache";
    log[0] = 0;
    int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a);
    if (prog < 0) {
        // Load again with the verifier's log, only to explain the failure.
        int e = errno;
        a.log_buf = (uint64_t)(uintptr_t)log;
        a.log_size = (uint32_t)loglen;
        a.log_level = 1;
        (void)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a);
        errno = e;
        return -1;
    }
    memset(&a, 0, sizeof a);
    a.target_fd = (uint32_t)cgroup_fd;
    a.attach_bpf_fd = (uint32_t)prog;
    a.attach_type = BPF_CGROUP_DEVICE;
    a.attach_flags = BPF_F_ALLOW_MULTI;
    if (syscall(SYS_bpf, BPF_PROG_ATTACH, &a, sizeof a) != 0) {
        int e = errno;
        close(prog);
        errno = e;
        return -1;
    }
    return prog;
}

int swrun_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

static int unix_addr(struct sockaddr_un *a, const char *path) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a->sun_path) { errno = ENAMETOOLONG; return -1; }
    strcpy(a->sun_path, path);
    return 0;
}

int swrun_unix_dgram_bind(const char *path) {
    struct sockaddr_un a;
    if (unix_addr(&a, path) != 0) return -1;
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    unlink(path);
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) { int e = errno; close(s); errno = e; return -1; }
    chmod(path, 0777);
    return s;
}

int swrun_unix_dgram_sendto(const char *path, const void *buf, size_t len) {
    struct sockaddr_un a;
    if (unix_addr(&a, path) != 0) return -1;
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    ssize_t n = sendto(s, buf, len, MSG_NOSIGNAL, (struct sockaddr *)&a, sizeof a);
    int e = errno;
    close(s);
    errno = e;
    return n < 0 ? -1 : 0;
}

int swrun_bpf_detach_other_device_filters(int cgroup_fd, int keep_prog_fd) {
    struct bpf_prog_info info;
    memset(&info, 0, sizeof info);
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.info.bpf_fd = (uint32_t)keep_prog_fd;
    a.info.info_len = sizeof info;
    a.info.info = (uint64_t)(uintptr_t)&info;
    if (syscall(SYS_bpf, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof a) != 0) return -1;
    uint32_t ids[64];
    memset(&a, 0, sizeof a);
    a.query.target_fd = (uint32_t)cgroup_fd;
    a.query.attach_type = BPF_CGROUP_DEVICE;
    a.query.prog_ids = (uint64_t)(uintptr_t)ids;
    a.query.prog_cnt = 64;
    if (syscall(SYS_bpf, BPF_PROG_QUERY, &a, sizeof a) != 0) return -1;
    uint32_t n = a.query.prog_cnt;
    for (uint32_t k = 0; k < n && k < 64; k++) {
        if (ids[k] == info.id) continue;
        union bpf_attr g;
        memset(&g, 0, sizeof g);
        g.prog_id = ids[k];
        int old = (int)syscall(SYS_bpf, BPF_PROG_GET_FD_BY_ID, &g, sizeof g);
        if (old < 0) return -1;
        union bpf_attr d;
        memset(&d, 0, sizeof d);
        d.target_fd = (uint32_t)cgroup_fd;
        d.attach_bpf_fd = (uint32_t)old;
        d.attach_type = BPF_CGROUP_DEVICE;
        int r = (int)syscall(SYS_bpf, BPF_PROG_DETACH, &d, sizeof d);
        int e = errno;
        close(old);
        if (r != 0) { errno = e; return -1; }
    }
    return 0;
}

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
int swrun_pty_peer(int master) { return ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC); }

/* ---- CVE-2019-5736: running from a copy the container cannot write --------------------- */

int swrun_execveat_empty(int fd, char *const argv[], char *const envp[]) {
    return (int)syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
}

int swrun_sealed_memfd_copy(int src) {
    struct stat st;
    if (fstat(src, &st) != 0) return -1;
    int mfd = (int)syscall(SYS_memfd_create, "swrun", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0) return -1;
    off_t off = 0;
    while (off < st.st_size) {
        ssize_t n = sendfile(mfd, src, &off, (size_t)(st.st_size - off));
        if (n <= 0) { int e = errno; close(mfd); errno = n == 0 ? EIO : e; return -1; }
    }
    if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0) {
        int e = errno; close(mfd); errno = e; return -1;
    }
    return mfd;
}

int swrun_exe_is_sealed(int fd) {
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals >= 0 && (seals & (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK)) == (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK)) return 1;
    struct statfs sf;
    if (fstatfs(fd, &sf) == 0 && (sf.f_flags & ST_RDONLY)) return 2;
    return 0;
}

int swrun_prlimit(int pid, int resource, uint64_t soft, uint64_t hard) {
    struct rlimit lim = { .rlim_cur = soft, .rlim_max = hard };
    return prlimit(pid, resource, &lim, NULL);
}

/* ---- process.scheduler, process.ioPriority, linux.personality --------------------------- */

int swrun_sched_setattr(uint32_t policy, uint64_t flags, int32_t nice, uint32_t priority,
                        uint64_t runtime, uint64_t deadline, uint64_t period) {
    struct { uint32_t size, policy; uint64_t flags; int32_t nice; uint32_t priority;
             uint64_t runtime, deadline, period; } attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.policy = policy; attr.flags = flags; attr.nice = nice; attr.priority = priority;
    attr.runtime = runtime; attr.deadline = deadline; attr.period = period;
    return (int)syscall(SYS_sched_setattr, 0, &attr, 0);
}

int swrun_ioprio_set(int value) { return (int)syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, value); }

int swrun_personality(unsigned long persona) { return personality(persona) == -1 ? -1 : 0; }

int swrun_set_affinity(const int *cpus, size_t count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (size_t i = 0; i < count; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) { errno = EINVAL; return -1; }
        CPU_SET(cpus[i], &set);
    }
    return sched_setaffinity(0, sizeof set, &set);
}

/* posix_spawn_file_actions_addchdir_np (glibc 2.29), which Swift does not see without
 * _GNU_SOURCE: the spawned child's working directory, the caller's left alone. */
int swrun_spawn_addchdir(void *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np((posix_spawn_file_actions_t *)actions, path);
}

long swrun_recv_packet_fd(int sock, void *buf, size_t len, int *fd) {
    char cbuf[CMSG_SPACE(4 * sizeof(int))];
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
    ssize_t n;
    *fd = -1;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    /* Every fd that came is taken: the first is the caller's, the others are closed. */
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t k = 0; k < count; k++) {
            int got;
            memcpy(&got, CMSG_DATA(c) + k * sizeof(int), sizeof got);
            if (*fd < 0) *fd = got; else close(got);
        }
    }
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
        if (*fd >= 0) { close(*fd); *fd = -1; }
        errno = EMSGSIZE;
        return -1;
    }
    return (long)n;
}
