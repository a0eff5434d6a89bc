// swrun-probe: a static multi-call checker run as the container's process. It reports, from
// inside, what the runtime actually applied, as key=value lines the tests parse.
//   report            identity, limits, security state, hostname, cwd, umask, open fds
//   stat PATH         type mode uid gid major minor of PATH (lstat)
//   write PATH        tries to open PATH for writing: "ok" or the errno name
//   mountopts PATH    the per-mount options of the mount at PATH (from /proc/self/mountinfo)
//   recvtty SOCK      (on the host) listens on SOCK, receives a pty master with SCM_RIGHTS,
//                     prints the payload as "name=...", then copies the terminal's output
//   fullmounts        how many full procfs and sysfs mounts this mount namespace holds
//   exit N            exits with N;   sleep N   sleeps N seconds;   env   prints the environment
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <signal.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <linux/seccomp.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void status_field(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) { printf("%s=?\n", key); return; }
    char line[512];
    size_t n = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            char *v = line + n + 1;
            while (*v == ' ' || *v == '\t') v++;
            v[strcspn(v, "\n")] = 0;
            printf("%s=%s\n", key, v);
        }
    }
    fclose(f);
}

static const char *rnames[] = {"cpu", "fsize", "data", "stack", "core", "rss", "nproc", "nofile",
                               "memlock", "as", "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime"};

static int report(void) {
    printf("pid=%d\nppid=%d\nuid=%d\ngid=%d\neuid=%d\negid=%d\n", getpid(), getppid(), getuid(), getgid(), geteuid(), getegid());
    gid_t groups[64];
    int ng = getgroups(64, groups);
    printf("groups=");
    for (int i = 0; i < ng; i++) printf("%s%d", i ? "," : "", groups[i]);
    printf("\n");
    mode_t m = umask(0);
    umask(m);
    printf("umask=%04o\n", m);
    char cwd[4096];
    printf("cwd=%s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
    struct utsname u;
    uname(&u);
    printf("hostname=%s\ndomainname=%s\n", u.nodename, u.domainname);
    printf("nnp=%d\ndumpable=%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    const char *fields[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "Seccomp", "Seccomp_filters", "NoNewPrivs"};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) status_field(fields[i]);
    for (int r = 0; r < 16; r++) {
        struct rlimit rl;
        if (getrlimit(r, &rl) == 0)
            printf("rlimit.%s=%lld:%lld\n", rnames[r], rl.rlim_cur == RLIM_INFINITY ? -1LL : (long long)rl.rlim_cur,
                   rl.rlim_max == RLIM_INFINITY ? -1LL : (long long)rl.rlim_max);
    }
    FILE *f = fopen("/proc/self/oom_score_adj", "r");
    int adj = 0;
    if (f) { if (fscanf(f, "%d", &adj) != 1) adj = 0; fclose(f); }
    printf("oom_score_adj=%d\n", adj);
    // Open fds, excluding the one opendir uses.
    DIR *d = opendir("/proc/self/fd");
    printf("fds=");
    if (d) {
        int self = dirfd(d), first = 1;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            int fd = atoi(e->d_name);
            if (fd == self) continue;
            printf("%s%d", first ? "" : ",", fd);
            first = 0;
        }
        closedir(d);
    }
    printf("\n");
    f = fopen("/proc/self/cgroup", "r");
    if (f) {
        char line[1024];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = 0;
            printf("cgroup=%s\n", line);
        }
        fclose(f);
    }
    return 0;
}

static int do_stat(const char *p) {
    struct stat st;
    if (lstat(p, &st) != 0) { printf("error=%s\n", strerrorname_np(errno)); return 1; }
    const char *t = S_ISDIR(st.st_mode) ? "dir" : S_ISCHR(st.st_mode) ? "char" : S_ISBLK(st.st_mode) ? "block"
                  : S_ISFIFO(st.st_mode) ? "fifo" : S_ISLNK(st.st_mode) ? "symlink" : S_ISREG(st.st_mode) ? "file" : "other";
    printf("type=%s\nmode=%04o\nuid=%d\ngid=%d\nmajor=%u\nminor=%u\n", t, st.st_mode & 07777, st.st_uid, st.st_gid,
           major(st.st_rdev), minor(st.st_rdev));
    if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        ssize_t n = readlink(p, buf, sizeof buf - 1);
        if (n >= 0) { buf[n] = 0; printf("target=%s\n", buf); }
    }
    return 0;
}

static int do_write(const char *p) {
    int fd = open(p, O_WRONLY | O_CREAT, 0644);
    if (fd < 0) { printf("%s\n", strerrorname_np(errno)); return 1; }
    close(fd);
    printf("ok\n");
    return 0;
}

static int do_mountopts(const char *p) {
    FILE *f = fopen("/proc/self/mountinfo", "r");
    if (!f) return 1;
    char line[4096], found[4096] = "";
    while (fgets(line, sizeof line, f)) {
        char mp[2048], opts[1024];
        if (sscanf(line, "%*s %*s %*s %*s %2047s %1023s", mp, opts) == 2 && strcmp(mp, p) == 0) {
            char *sep = strstr(line, " - ");
            char fstype[256] = "";
            if (sep) sscanf(sep + 3, "%255s", fstype);
            snprintf(found, sizeof found, "opts=%s\nfstype=%s\n", opts, fstype);
        }
    }
    fclose(f);
    if (!*found) { printf("notmounted\n"); return 1; }
    fputs(found, stdout);
    return 0;
}

// Binds SOCK, accepts one connection and receives one fd with SCM_RIGHTS and its payload.
static int accept_fd(const char *path, char *payload, size_t len) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    unlink(path);
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 1)) { perror("bind"); return -1; }
    int c = accept(s, NULL, NULL);
    if (c < 0) { perror("accept"); return -1; }
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(payload, 0, len);
    struct iovec iov = {.iov_base = payload, .iov_len = len - 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    ssize_t n = recvmsg(c, &m, 0);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    if (n < 0 || !cm || cm->cmsg_type != SCM_RIGHTS) { fprintf(stderr, "no fd received\n"); return -1; }
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return fd;
}

static int do_recvtty(const char *path) {
    char name[256];
    int fd = accept_fd(path, name, sizeof name);
    if (fd < 0) return 1;
    ssize_t n;
    printf("name=%s\n", name);
    if (strcmp(name, "pidfd") == 0) {
        // A pidfd: report which process it refers to.
        char info[64];
        snprintf(info, sizeof info, "/proc/self/fdinfo/%d", fd);
        FILE *f = fopen(info, "r");
        char line[256];
        while (f && fgets(line, sizeof line, f))
            if (strncmp(line, "Pid:", 4) == 0) printf("pidfd.pid=%d\n", atoi(line + 4));
        if (f) fclose(f);
        return 0;
    }
    char buf[4096];
    while ((n = read(fd, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
    return 0;
}

// notify MSG: sends MSG to $NOTIFY_SOCKET (sd_notify). notify-listen SOCK: binds SOCK and
// prints each datagram until one holds READY=1 and one MAINPID= has followed.
static int do_notify(const char *msg) {
    const char *p = getenv("NOTIFY_SOCKET");
    if (!p) { printf("no NOTIFY_SOCKET\n"); return 1; }
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, p, sizeof a.sun_path - 1);
    if (sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof a) < 0) { perror("sendto"); return 1; }
    return 0;
}

static int do_notify_listen(const char *path) {
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    unlink(path);
    if (bind(s, (struct sockaddr *)&a, sizeof a)) { perror("bind"); return 1; }
    int ready = 0;
    for (;;) {
        char buf[1024];
        ssize_t n = recv(s, buf, sizeof buf - 1, 0);
        if (n <= 0) return 1;
        buf[n] = 0;
        printf("msg=%s\n", buf);
        if (strstr(buf, "READY=1")) ready = 1;
        if (ready && strstr(buf, "MAINPID=")) return 0;
    }
}

// seccomp-agent SOCK: (on the host) receives a seccomp listener fd, prints the payload, and
// answers the first notification with EXDEV, printing the syscall number.
static int do_seccomp_agent(const char *path) {
    char payload[8192];
    int fd = accept_fd(path, payload, sizeof payload);
    if (fd < 0) return 1;
    printf("payload=%s\n", payload);
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    memset(&req, 0, sizeof req);
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) { perror("NOTIF_RECV"); return 1; }
    printf("notified=%d\n", req.data.nr);
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    resp.error = -EXDEV;
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0) { perror("NOTIF_SEND"); return 1; }
    return 0;
}

/* CVE-2019-5736, the attacker's half: find a process in this pid namespace whose exe is the
 * runtime (its link names "swrun"), hold it with O_PATH, let it go (it blocks opening the
 * FIFO as its log), wait until it is gone, then try to reopen the runtime's file for
 * writing. Nothing is ever written: a successful open is reported and closed. */
static int do_hunt_exe(const char *fifo) {
    for (int round = 0; round < 2000; round++) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d))) {
            int pid = atoi(e->d_name);
            if (pid <= 1 || pid == getpid()) continue;
            char link[64], target[4096];
            snprintf(link, sizeof link, "/proc/%d/exe", pid);
            ssize_t n = readlink(link, target, sizeof target - 1);
            if (n <= 0) continue;
            target[n] = 0;
            if (!strstr(target, "swrun") || strstr(target, "swrun-probe")) continue;
            int held = open(link, O_PATH | O_CLOEXEC);
            printf("found=%s held=%s\n", target, held >= 0 ? "yes" : strerrorname_np(errno));
            int r = open(fifo, O_RDONLY | O_NONBLOCK);
            for (int i = 0; i < 500 && kill(pid, 0) == 0; i++) usleep(10000);
            if (r >= 0) close(r);
            if (held < 0) return 1;
            char self[64];
            snprintf(self, sizeof self, "/proc/self/fd/%d", held);
            int w = open(self, O_WRONLY | O_CLOEXEC);
            printf("open-write=%s\n", w >= 0 ? "ok" : strerrorname_np(errno));
            if (w >= 0) close(w);
            closedir(d);
            return 0;
        }
        if (d) closedir(d);
        usleep(5000);
    }
    printf("found=nothing\n");
    return 1;
}

/* CVE-2021-30465, the attacker's half: swap two entries of a shared volume with
 * renameat2(RENAME_EXCHANGE) as fast as possible for `seconds`. */
static int do_exchange(const char *a, const char *b, int seconds) {
    time_t end = time(NULL) + seconds;
    long n = 0;
    while (time(NULL) < end) {
        for (int i = 0; i < 1000; i++, n++) renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
    }
    printf("exchanges=%ld\n", n);
    return 0;
}

/* A syscall through the i386 ABI (int 0x80 from this 64-bit process: seccomp sees
 * AUDIT_ARCH_I386): prints ok or the errno's name. */
static int do_int80(long nr) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(0), "c"(0), "d"(0) : "memory");
    printf("%s\n", ret < 0 && ret > -4096 ? strerrorname_np((int)-ret) : "ok");
    return 0;
}

/* Every mount of this mount namespace, reachable from our root or not (listmount(2) and
 * statmount(2), Linux 6.8; CAP_SYS_ADMIN for the unreachable ones): prints how many are
 * full (root "/") procfs and sysfs mounts, as "proc=N sysfs=M". A --no-pivot container must
 * hold none but its own. The structures are declared here: Debian 12's headers predate them. */
struct swrun_mnt_id_req { uint32_t size, spare; uint64_t mnt_id, param; };
struct swrun_statmount {
    uint32_t size, mnt_opts; uint64_t mask;
    uint32_t sb_dev_major, sb_dev_minor; uint64_t sb_magic; uint32_t sb_flags, fs_type;
    uint64_t mnt_id, mnt_parent_id; uint32_t mnt_id_old, mnt_parent_id_old;
    uint64_t mnt_attr, mnt_propagation, mnt_peer_group, mnt_master, propagate_from;
    uint32_t mnt_root, mnt_point; uint64_t spare2[50]; char str[];
};
static int statmount_of(uint64_t id, uint64_t what, struct swrun_statmount *sm, size_t size) {
    struct swrun_mnt_id_req q = { .size = 24, .mnt_id = id, .param = what };
    return (int)syscall(457 /* statmount */, &q, sm, size, 0);
}
static int do_fullmounts(void) {
    static char buf[65536];
    struct swrun_statmount *sm = (struct swrun_statmount *)buf;
    /* Our root's mount, then up its parents to the namespace's root mount: listmount's
     * LSMT_ROOT starts at our root, which hides what a chroot left outside it. */
    struct statx stx;
    if (statx(AT_FDCWD, "/", 0, 0x4000 /* STATX_MNT_ID_UNIQUE */, &stx) < 0) { printf("error=%s\n", strerrorname_np(errno)); return 1; }
    uint64_t top = stx.stx_mnt_id;
    for (int depth = 0; depth < 64; depth++) {
        if (statmount_of(top, 0x2 /* MNT_BASIC */, sm, sizeof buf) < 0) { printf("error=%s\n", strerrorname_np(errno)); return 1; }
        if (sm->mnt_parent_id == sm->mnt_id || sm->mnt_parent_id == 0) break;
        top = sm->mnt_parent_id;
    }
    /* listmount(2) lists every mount below the one given, at any depth. */
    static uint64_t ids[8192];
    ids[0] = top;
    struct swrun_mnt_id_req req = { .size = 24, .mnt_id = top };
    long n = syscall(458 /* listmount */, &req, ids + 1, sizeof ids / sizeof *ids - 1, 0);
    if (n < 0) { printf("error=%s\n", strerrorname_np(errno)); return 1; }
    int proc = 0, sysfs = 0;
    for (long i = 0; i <= n; i++) {
        if (statmount_of(ids[i], 0x1 | 0x2 | 0x8 | 0x10 /* SB_BASIC | MNT_BASIC | MNT_ROOT | MNT_POINT */, sm, sizeof buf) == 0 && strcmp(sm->str + sm->mnt_root, "/") == 0) {
            if (getenv("PROBE_VERBOSE") && (sm->sb_magic == 0x9fa0 || sm->sb_magic == 0x62656572))
                printf("mount id=%llu parent=%llu magic=%llx point=%s\n", (unsigned long long)sm->mnt_id, (unsigned long long)sm->mnt_parent_id, (unsigned long long)sm->sb_magic, sm->str + sm->mnt_point);
            if (sm->sb_magic == 0x9fa0) proc++;
            if (sm->sb_magic == 0x62656572) sysfs++;
        }
    }
    printf("proc=%d sysfs=%d\n", proc, sysfs);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2 || strcmp(argv[1], "report") == 0) return report();
    if (strcmp(argv[1], "stat") == 0 && argc > 2) return do_stat(argv[2]);
    if (strcmp(argv[1], "write") == 0 && argc > 2) return do_write(argv[2]);
    if (strcmp(argv[1], "mountopts") == 0 && argc > 2) return do_mountopts(argv[2]);
    if (strcmp(argv[1], "recvtty") == 0 && argc > 2) return do_recvtty(argv[2]);
    if (strcmp(argv[1], "seccomp-agent") == 0 && argc > 2) return do_seccomp_agent(argv[2]);
    if (strcmp(argv[1], "notify") == 0 && argc > 2) return do_notify(argv[2]);
    if (strcmp(argv[1], "notify-listen") == 0 && argc > 2) return do_notify_listen(argv[2]);
    if (strcmp(argv[1], "syscall") == 0 && argc > 2) {
        // syscall NR [A0]: calls it with A0 (or 0) as the first argument and prints the errno name (or "ok").
        long a0 = argc > 3 ? strtol(argv[3], NULL, 0) : 0;
        long r = syscall(atol(argv[2]), a0, 0, 0, 0, 0, 0);
        printf("%s\n", r < 0 ? strerrorname_np(errno) : "ok");
        return 0;
    }
    if (strcmp(argv[1], "hunt-exe") == 0 && argc > 2) return do_hunt_exe(argv[2]);
    if (strcmp(argv[1], "int80") == 0 && argc > 2) return do_int80(atol(argv[2]));
    if (strcmp(argv[1], "exchange") == 0 && argc > 4) return do_exchange(argv[2], argv[3], atoi(argv[4]));
    if (strcmp(argv[1], "fullmounts") == 0) return do_fullmounts();
    if (strcmp(argv[1], "exit") == 0 && argc > 2) return atoi(argv[2]);
    if (strcmp(argv[1], "sleep") == 0 && argc > 2) { sleep((unsigned)atoi(argv[2])); return 0; }
    if (strcmp(argv[1], "env") == 0) { for (char **e = environ; *e; e++) puts(*e); return 0; }
    fprintf(stderr, "swrun-probe: unknown command %s\n", argv[1]);
    return 2;
}
