// cswrun.h: the whole C surface of swrun.
//
// Rule: C exists here only for what Swift cannot call directly:
//   1. variadic or returns_twice functions (clone, prctl, syscall, ioctl with a struct),
//   2. syscalls glibc 2.36 has no wrapper for (pivot_root, openat2, the new mount API,
//      close_range, seccomp, keyctl),
//   3. function-like macros and _GNU_SOURCE constants the Glibc module hides,
//   4. async-signal-safe signal handlers (signal forwarding for foreground `run`),
//   5. what must run before the Swift runtime: the constructor that enters the protected
//      view of the binary (sealed.c) and the runtime's argv entry points (argv.c; the
//      runtime calls them, and Proc.arguments reads argv through the first).
// Every function is prefixed swrun_, returns -1 with errno set on failure (unless noted),
// and takes only plain integers, C strings and buffers.
#ifndef CSWRUN_H
#define CSWRUN_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

// --- clone flags and namespace types (sched.h under _GNU_SOURCE) ---
extern const int SWRUN_CLONE_NEWNS;
extern const int SWRUN_CLONE_NEWUTS;
extern const int SWRUN_CLONE_NEWIPC;
extern const int SWRUN_CLONE_NEWNET;
extern const int SWRUN_CLONE_NEWPID;
extern const int SWRUN_CLONE_NEWUSER;
extern const int SWRUN_CLONE_NEWCGROUP;
extern const int SWRUN_CLONE_NEWTIME;

// --- open / resolve ---
extern const int SWRUN_O_PATH;
extern const uint64_t SWRUN_RESOLVE_IN_ROOT;
extern const uint64_t SWRUN_RESOLVE_NO_SYMLINKS;
extern const uint64_t SWRUN_RESOLVE_NO_MAGICLINKS;
extern const uint64_t SWRUN_RESOLVE_NO_XDEV;
extern const uint64_t SWRUN_RESOLVE_BENEATH;

// --- new mount API ---
extern const unsigned SWRUN_OPEN_TREE_CLONE;
extern const unsigned SWRUN_AT_RECURSIVE;
extern const unsigned SWRUN_AT_EMPTY_PATH;
extern const unsigned SWRUN_AT_SYMLINK_NOFOLLOW;
extern const uint64_t SWRUN_MOUNT_ATTR_RDONLY;
extern const uint64_t SWRUN_MOUNT_ATTR_NOSUID;
extern const uint64_t SWRUN_MOUNT_ATTR_NODEV;
extern const uint64_t SWRUN_MOUNT_ATTR_NOEXEC;
extern const uint64_t SWRUN_MOUNT_ATTR__ATIME;
extern const uint64_t SWRUN_MOUNT_ATTR_RELATIME;
extern const uint64_t SWRUN_MOUNT_ATTR_NOATIME;
extern const uint64_t SWRUN_MOUNT_ATTR_STRICTATIME;
extern const uint64_t SWRUN_MOUNT_ATTR_NODIRATIME;
extern const uint64_t SWRUN_MOUNT_ATTR_NOSYMFOLLOW;

// --- prctl options ---
extern const int SWRUN_PR_SET_PDEATHSIG;
extern const int SWRUN_PR_SET_DUMPABLE;
extern const int SWRUN_PR_SET_KEEPCAPS;
extern const int SWRUN_PR_SET_NO_NEW_PRIVS;
extern const int SWRUN_PR_CAPBSET_DROP;
extern const int SWRUN_PR_CAPBSET_READ;
extern const int SWRUN_PR_SET_CHILD_SUBREAPER;
extern const int SWRUN_PR_CAP_AMBIENT;
extern const unsigned long SWRUN_PR_CAP_AMBIENT_CLEAR_ALL;

/// Fork-like clone(2): returns 0 in the child (which continues on a copy of the
/// caller's stack, like fork), the child's pid in the parent, -1 on error.
/// `flags` are CLONE_NEW* bits; SIGCHLD is added. No atfork handlers run.
pid_t swrun_fork(int flags);

/// Fork-like clone3(2) with CLONE_INTO_CGROUP: the child starts in the cgroup v2 directory
/// `cgroup_fd`, never running a single instruction elsewhere. -1 with errno ENOSYS, E2BIG or
/// EINVAL where the kernel lacks it (the caller then writes cgroup.procs).
pid_t swrun_fork_into_cgroup(int flags, int cgroup_fd);

/// Fork-like clone3(2) with CLONE_PARENT and CLONE_PIDFD: the child is the caller's
/// sibling (a child of the caller's parent), and `*pidfd` refers to it. For a short-lived
/// helper that joins namespaces and then makes the process its parent will wait for.
pid_t swrun_fork_sibling(int flags, int * _Nonnull pidfd);

int swrun_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5);
int swrun_setns(int fd, int nstype);
int swrun_unshare(int flags);
int swrun_pivot_root(const char * _Nonnull new_root, const char * _Nonnull put_old);
int swrun_openat2(int dirfd, const char * _Nonnull path, uint64_t flags, uint64_t mode, uint64_t resolve);
int swrun_close_range(unsigned first, unsigned last, unsigned flags);
int swrun_mark_cloexec_from(unsigned first);
/// Closes every fd >= 3 that is not in keep[0..count) (sorted or not).
int swrun_close_fds_except(const int * _Nonnull keep, size_t count);

int swrun_open_tree(int dirfd, const char * _Nonnull path, unsigned flags);
int swrun_move_mount_fd(int from_fd, int to_fd);
int swrun_fsopen(const char * _Nonnull fstype);
int swrun_fsconfig_string(int fd, const char * _Nonnull key, const char * _Nonnull value);
int swrun_fsconfig_flag(int fd, const char * _Nonnull key);
int swrun_fsconfig_create(int fd);
int swrun_fsmount(int fd, uint64_t attr);
int swrun_mount_setattr(int dirfd, const char * _Nonnull path, unsigned flags,
                        uint64_t attr_set, uint64_t attr_clr, uint64_t propagation);
/// mount_setattr(MOUNT_ATTR_IDMAP) on a detached mount `fd` with the user namespace
/// `userns_fd` (AT_RECURSIVE when `recursive`).
int swrun_mount_setattr_idmap(int fd, int recursive, int userns_fd);
/// Reads the kernel's error log of an fs context (fsopen fd) into buf; returns bytes or -1.
int swrun_fs_errlog(int fd, char * _Nonnull buf, size_t len);

/// The process's argv as glibc handed it to constructors (argv.c); *argc receives its length.
char * _Nullable * _Nonnull _swift_stdlib_getUnsafeArgvArgc(int * _Nonnull argc);
/// execveat(fd, "", argv, envp, AT_EMPTY_PATH): runs the file behind fd. Returns only on error.
int swrun_execveat_empty(int fd, char * _Nullable const * _Nonnull argv, char * _Nullable const * _Nonnull envp);
/// A sealed (write, grow, shrink, seal) memfd copy of the file behind src; -1 with errno.
int swrun_sealed_memfd_copy(int src);
/// 1 when fd is a memfd sealed against writes, 2 when it lies on a read-only mount, else 0.
int swrun_exe_is_sealed(int fd);
/// An O_PATH fd of the running binary seen through a detached, read-only, upper-less
/// overlayfs (lower layers: the binary's directory and an empty one kept under `scratch`,
/// /run or /tmp, whichever does not overlap it); -1 with errno. (sealed.c)
int swrun_overlay_view(const char * _Nullable scratch);
/// prlimit(2) setting both limits of another process.
int swrun_prlimit(int pid, int resource, uint64_t soft, uint64_t hard);
/// sched_setattr(2) on the calling thread.
int swrun_sched_setattr(uint32_t policy, uint64_t flags, int32_t nice, uint32_t priority, uint64_t runtime, uint64_t deadline, uint64_t period);
/// sched_setaffinity(0) to exactly `cpus`.
int swrun_set_affinity(const int * _Nonnull cpus, size_t count);
/// ioprio_set(IOPRIO_WHO_PROCESS, 0, value).
int swrun_ioprio_set(int value);
/// personality(2); 0 or -1 with errno.
int swrun_personality(unsigned long persona);

/// Installs a classic BPF seccomp filter (array of struct sock_filter) with seccomp(2).
/// With SWRUN_SECCOMP_FLAG_NEW_LISTENER in flags it returns the notify listener fd.
int swrun_seccomp_install(const void * _Nonnull insns, size_t count, unsigned flags);
extern const unsigned SWRUN_SECCOMP_FLAG_NEW_LISTENER;

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, name).
int swrun_join_session_keyring(const char * _Nullable name);

/// Brings the loopback interface of the current network namespace up.
int swrun_loopback_up(void);

/// ioctl(fd, NS_GET_NSTYPE): the CLONE_NEW* type of an nsfs fd.
int swrun_ns_get_type(int fd);

// --- wait status and device numbers (function-like macros) ---
int swrun_wifexited(int status);
int swrun_wexitstatus(int status);
int swrun_wifsignaled(int status);
int swrun_wtermsig(int status);
uint64_t swrun_makedev(unsigned major, unsigned minor);
unsigned swrun_major(uint64_t dev);
unsigned swrun_minor(uint64_t dev);

// --- signal forwarding for a foreground `run` (handler in C: async-signal-safe) ---
/// Installs a handler for every catchable signal except SIGCHLD that forwards it to `pid`.
int swrun_forward_signals_to(pid_t pid);
/// Blocks the calling thread's signals (returns 0). Used around clone.
int swrun_block_all_signals(void * _Nonnull oldset, size_t len);
int swrun_restore_signals(const void * _Nonnull oldset);
int swrun_reset_signal_dispositions(void);

// --- seccomp compilation (libseccomp; function-like macros need C) ---
uint32_t swrun_scmp_act_errno(uint32_t errnum);
uint32_t swrun_scmp_act_trace(uint32_t msg);
/// Exports the filter of ctx as BPF into a malloc'd buffer; *out/len set, returns 0 or -errno.
int swrun_seccomp_export(void * _Nonnull ctx, void * _Nullable * _Nonnull out, size_t * _Nonnull len);

// --- _GNU_SOURCE functions the Glibc module hides ---
int swrun_setresuid(uid_t uid);
int swrun_setresgid(gid_t gid);
int swrun_pipe_cloexec(int * _Nonnull fds);
/// f_type of fstatfs(2), or -1.
long swrun_fstatfs_type(int fd);
int swrun_stat(const char * _Nonnull path, void * _Nonnull st);
int swrun_flock(int fd, int op);

// --- eBPF cgroup device filter (cgroup v2 device control) ---
/// Loads a BPF_PROG_TYPE_CGROUP_DEVICE program (struct bpf_insn array) and attaches it to the
/// cgroup directory fd with BPF_F_ALLOW_MULTI. Returns the program fd or -1; the verifier's
/// log goes to log (NUL-terminated).
int swrun_bpf_attach_device_filter(const void * _Nonnull insns, size_t count, int cgroup_fd, char * _Nonnull log, size_t loglen);
/// After attaching a new device program, detaches every other device program of the cgroup
/// (update replaces the rules instead of intersecting them). Returns 0 or -1.
int swrun_bpf_detach_other_device_filters(int cgroup_fd, int keep_prog_fd);

/// A SOCK_DGRAM unix socket bound at path (any old file there is removed first).
int swrun_unix_dgram_bind(const char * _Nonnull path);
/// Sends one datagram to the unix socket at path.
int swrun_unix_dgram_sendto(const char * _Nonnull path, const void * _Nonnull buf, size_t len);
/// pidfd_open(2).
int swrun_pidfd_open(pid_t pid);

// --- terminals and unix sockets ---
/// Opens /dev/ptmx (of the current mount namespace), unlocks it, writes the slave's path to
/// name; returns the master fd (O_CLOEXEC) or -1.
int swrun_pty_open(char * _Nonnull name, size_t len);
/// The pty's peer (slave) opened from the master fd itself (TIOCGPTPEER), never by path.
int swrun_pty_peer(int master);
/// Makes fd the controlling terminal of the calling process (TIOCSCTTY).
int swrun_set_ctty(int fd);
int swrun_set_winsize(int fd, unsigned short rows, unsigned short cols);
int swrun_get_winsize(int fd, unsigned short * _Nonnull rows, unsigned short * _Nonnull cols);
/// Connects a SOCK_STREAM unix socket to path; returns the fd (O_CLOEXEC) or -1.
int swrun_unix_connect(const char * _Nonnull path);
/// Sends fd with SCM_RIGHTS and a payload.
int swrun_send_fd(int sock, int fd, const void * _Nonnull payload, size_t len);
/// Receives one fd sent with SCM_RIGHTS; returns it (O_CLOEXEC) or -1.
int swrun_recv_fd(int sock);
/// A SOCK_STREAM socketpair, close-on-exec.
int swrun_stream_pair(int * _Nonnull fds);
/// Terminal raw mode for the relay of a foreground `run` with a terminal.
int swrun_tty_make_raw(int fd, void * _Nonnull saved, size_t len);
int swrun_tty_clear_onlcr(int fd);
int swrun_spawn_addchdir(void * _Nonnull actions, const char * _Nonnull path);
int swrun_tty_restore(int fd, const void * _Nonnull saved);
/// One packet of a SOCK_SEQPACKET socket into buf, with the first fd it carries
/// (SCM_RIGHTS, O_CLOEXEC) in *fd, -1 when none; returns its length, 0 at end-of-file, or
/// -1 (EMSGSIZE when the packet did not fit). CRIU's RPC (checkpoint and restore).
long swrun_recv_packet_fd(int sock, void * _Nonnull buf, size_t len, int * _Nonnull fd);

#endif
