// fntrace: which functions a command runs, in the order it first runs them, per process.
//
//   fntrace OUT ADDRS CMD [ARG...]
//
// ADDRS lists function entry addresses (hex, one per line) of the static, non-PIE binary
// that CMD executes. fntrace starts CMD under ptrace, and at its exec writes a breakpoint
// (int3) on every listed entry. A hit appends "ROLE ORDINAL ADDR CALLER" to OUT (ROLE 0:
// the process fntrace started, 1: any process forked from it; CALLER: the return address
// on the stack, which tells who called it the first time), restores the original byte in
// that process and lets it go on, so each function costs one trap per process. Forked
// processes inherit the breakpoints that are still armed. A process that executes another
// binary (a container's init exec'ing its command) is let go; when the first process exits,
// any process still traced (the init that `create` leaves waiting) is stopped, has every
// breakpoint removed and is let go too. A run takes milliseconds where single-stepping took
// minutes. Used by layout/generate.sh; not part of the runtime.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t *entries;
static unsigned char *saved;
static size_t count;
static pid_t live[64];
static int liveCount;

static void track(pid_t pid) {
    for (int i = 0; i < liveCount; i++) if (live[i] == pid) return;
    if (liveCount < 64) live[liveCount++] = pid;
}

static void untrack(pid_t pid) {
    for (int i = 0; i < liveCount; i++) if (live[i] == pid) { live[i] = live[--liveCount]; return; }
}

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static long lookup(uint64_t address) {
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (entries[mid] < address) lo = mid + 1; else hi = mid;
    }
    return lo < count && entries[lo] == address ? (long)lo : -1;
}

// Replaces the byte at address in pid's text (a private copy-on-write page).
static int poke(pid_t pid, uint64_t address, unsigned char byte) {
    errno = 0;
    long word = ptrace(PTRACE_PEEKTEXT, pid, (void *)address, 0);
    if (errno) return -1;
    word = (word & ~0xffL) | byte;
    return (int)ptrace(PTRACE_POKETEXT, pid, (void *)address, (void *)word);
}

static int sameFile(pid_t pid, const struct stat *target) {
    char path[64];
    struct stat now;
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    return stat(path, &now) == 0 && now.st_dev == target->st_dev && now.st_ino == target->st_ino;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: fntrace OUT ADDRS CMD [ARG...]\n");
        return 2;
    }
    FILE *in = fopen(argv[2], "r");
    if (!in) { perror(argv[2]); return 2; }
    size_t capacity = 1 << 16;
    entries = malloc(capacity * sizeof *entries);
    unsigned long long address;
    while (fscanf(in, "%llx", &address) == 1) {
        if (count == capacity) entries = realloc(entries, (capacity *= 2) * sizeof *entries);
        entries[count++] = address;
    }
    fclose(in);
    qsort(entries, count, sizeof *entries, compare);
    saved = malloc(count);
    FILE *out = fopen(argv[1], "w");
    if (!out || !entries || !saved) { perror(argv[1]); return 2; }

    pid_t root = fork();
    if (root < 0) { perror("fork"); return 2; }
    if (root == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        execvp(argv[3], argv + 3);
        _exit(127);
    }
    int status;
    waitpid(root, &status, 0);
    ptrace(PTRACE_SETOPTIONS, root, 0,
           PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC);
    ptrace(PTRACE_CONT, root, 0, 0);
    waitpid(root, &status, 0);
    if (!WIFSTOPPED(status) || status >> 16 != PTRACE_EVENT_EXEC) {
        fprintf(stderr, "fntrace: %s did not start\n", argv[3]);
        return 2;
    }
    struct stat target;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/exe", root);
    if (stat(path, &target) != 0) { perror(path); return 2; }
    size_t armed = 0;
    for (size_t i = 0; i < count; i++) {
        errno = 0;
        long word = ptrace(PTRACE_PEEKTEXT, root, (void *)entries[i], 0);
        if (errno) { entries[i] = 0; continue; } // not mapped: never hit
        saved[i] = (unsigned char)word;
        if (poke(root, entries[i], 0xcc) == 0) armed++;
    }

    unsigned ordinal = 0;
    int rootStatus = -1, draining = 0;
    track(root);
    ptrace(PTRACE_CONT, root, 0, 0);
    for (;;) {
        pid_t pid = waitpid(-1, &status, __WALL);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break; // ECHILD: every traced process is gone
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            untrack(pid);
            if (pid == root) {
                rootStatus = status;
                draining = 1;
                for (int i = 0; i < liveCount; i++) kill(live[i], SIGSTOP);
            }
            continue;
        }
        if (!WIFSTOPPED(status)) continue;
        track(pid);
        int signal = WSTOPSIG(status), event = status >> 16, deliver = 0;
        if (draining) {
            // Let it go without a breakpoint left in it; SIGCONT drops the SIGSTOP sent
            // above if it stopped for another reason first.
            struct user_regs_struct regs;
            if (signal == SIGTRAP && event == 0 && ptrace(PTRACE_GETREGS, pid, 0, &regs) == 0 && lookup(regs.rip - 1) >= 0) {
                regs.rip -= 1;
                ptrace(PTRACE_SETREGS, pid, 0, &regs);
            }
            for (size_t i = 0; i < count; i++) if (entries[i]) poke(pid, entries[i], saved[i]);
            ptrace(PTRACE_DETACH, pid, 0, 0);
            kill(pid, SIGCONT);
            untrack(pid);
            continue;
        }
        if (signal == SIGTRAP && event == PTRACE_EVENT_EXEC) {
            if (!sameFile(pid, &target)) { ptrace(PTRACE_DETACH, pid, 0, 0); untrack(pid); continue; }
        } else if (signal == SIGTRAP && event == 0) {
            struct user_regs_struct regs;
            long i = ptrace(PTRACE_GETREGS, pid, 0, &regs) == 0 ? lookup(regs.rip - 1) : -1;
            if (i >= 0) {
                long caller = ptrace(PTRACE_PEEKDATA, pid, (void *)regs.rsp, 0);
                fprintf(out, "%d %u %lx %lx\n", pid != root, ++ordinal, (unsigned long)entries[i], (unsigned long)caller);
                poke(pid, entries[i], saved[i]);
                regs.rip -= 1;
                ptrace(PTRACE_SETREGS, pid, 0, &regs);
            } else {
                deliver = signal; // a SIGTRAP of its own
            }
        } else if (signal == SIGTRAP || (signal == SIGSTOP && event == 0)) {
            // fork/clone events and a new process's first stop: nothing to deliver
        } else {
            deliver = signal;
        }
        ptrace(PTRACE_CONT, pid, 0, deliver);
    }
    fclose(out);
    if (rootStatus == -1) kill(root, SIGKILL);
    fprintf(stderr, "fntrace: %zu breakpoints, %u entered\n", armed, ordinal);
    if (rootStatus == -1) return 2;
    return WIFEXITED(rootStatus) ? WEXITSTATUS(rootStatus) : 128 + WTERMSIG(rootStatus);
}
