// sealed.c: CVE-2019-5736, the read-only view of swrun's own binary (SwrunSys/SealedBinary
// .swift explains the protection). The view is built here, in C, so that create, run and
// exec can re-execute through it from a constructor, before the Swift runtime starts: the
// first image then costs a bare process start only.
#define _GNU_SOURCE
#include "cswrun.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* e lies inside dir, is dir, or lies above it: overlayfs refuses such layers (ELOOP). */
static int overlaps(const char *e, const char *dir) {
    size_t d = strlen(dir), n = strlen(e);
    if (strcmp(e, dir) == 0) return 1;
    if (strcmp(dir, "/") == 0) return 1;
    if (n > d && strncmp(e, dir, d) == 0 && e[d] == '/') return 1;
    if (d > n && strncmp(dir, e, n) == 0 && dir[n] == '/') return 1;
    return 0;
}

static int mkdir_p(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) { errno = ENAMETOOLONG; return -1; }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0) continue;
        char c = buf[i];
        buf[i] = 0;
        if (mkdir(buf, 0711) != 0 && errno != EEXIST) return -1;
        buf[i] = c;
    }
    return 0;
}

int swrun_overlay_view(const char *scratch) {
    char path[4096];
    ssize_t len = readlink("/proc/self/exe", path, sizeof path - 1);
    if (len <= 0) return -1;
    path[len] = 0;
    if (path[0] != '/' || strchr(path, ':') || strchr(path, ',')) { errno = EINVAL; return -1; }
    char *slash = strrchr(path, '/');
    char dir[4096], name[4096];
    if (slash == path) strcpy(dir, "/"); else { memcpy(dir, path, (size_t)(slash - path)); dir[slash - path] = 0; }
    snprintf(name, sizeof name, "%s", slash + 1);
    char first[4096];
    const char *candidates[3] = {NULL, "/run/.swrun-empty", "/tmp/.swrun-empty"};
    if (scratch && scratch[0] == '/' && snprintf(first, sizeof first, "%s/empty", scratch) < (int)sizeof first) candidates[0] = first;
    const char *empty = NULL;
    for (int i = 0; i < 3 && !empty; i++)
        if (candidates[i] && !overlaps(candidates[i], dir)) empty = candidates[i];
    if (!empty) { errno = ELOOP; return -1; }
    struct stat st;
    if (stat(empty, &st) != 0 && mkdir_p(empty) != 0) return -1;
    char lower[8200];
    if (snprintf(lower, sizeof lower, "%s:%s", dir, empty) >= (int)sizeof lower) { errno = ENAMETOOLONG; return -1; }
    int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
    if (fs < 0) return -1;
    int mnt = -1, view = -1;
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", "swrun", 0) == 0 &&
        syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0) == 0 &&
        syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0 &&
        (mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID)) >= 0)
        view = openat(mnt, name, O_PATH | O_CLOEXEC);
    int saved = errno;
    if (mnt >= 0) close(mnt);
    close(fs);
    errno = saved;
    return view;
}

/* Runs before the Swift runtime: for create and exec (after runc's global flags),
 * re-execute through the view unless the binary is already protected. Anything unexpected
 * returns, and SealedBinary.ensure does the same work (with the memfd fallback) in Swift. */
__attribute__((constructor(101))) static void swrun_seal_early(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc < 2 || getenv("_SWRUN_SEALED")) return;
    const char *root = "/run/swrun";
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == 0) break;
        const char *n = a + (a[1] == '-' ? 2 : 1);
        const char *eq = strchr(n, '=');
        size_t len = eq ? (size_t)(eq - n) : strlen(n);
#define FLAG(s) (len == sizeof(s) - 1 && strncmp(n, s, len) == 0)
        if (FLAG("root") || FLAG("log") || FLAG("log-format") || FLAG("criu") || FLAG("rootless")) {
            const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) return;
            if (FLAG("root")) root = v;
        } else if (!FLAG("debug") && !FLAG("systemd-cgroup")) {
            return;
        }
#undef FLAG
    }
    if (i >= argc) return;
    /* run decides in Swift, once its plan is built (Launcher.exposure). */
    if (strcmp(argv[i], "create") != 0 && strcmp(argv[i], "exec") != 0) return;
    int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (self < 0) return;
    int sealed = swrun_exe_is_sealed(self);
    close(self);
    if (sealed) return;
    char scratch[4096];
    if (snprintf(scratch, sizeof scratch, "%s/.sealed", root) >= (int)sizeof scratch) return;
    int view = swrun_overlay_view(scratch);
    if (view < 0) return;
    setenv("_SWRUN_SEALED", "re-executed from a read-only overlay view", 1);
    syscall(SYS_execveat, view, "", argv, environ, AT_EMPTY_PATH);
    unsetenv("_SWRUN_SEALED");
    close(view);
}
