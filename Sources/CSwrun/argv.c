// argv.c: the Swift runtime's two argv entry points, defined by swrun.
//
// The Swift runtime finds the argv behind CommandLine.arguments from a global constructor
// (CommandLine.cpp) that walks the main thread's stack: pthread_getattr_np, which opens
// /proc/self/maps and sscanf's every line (~50k instructions and five syscalls in every
// swrun process, whatever the verb). glibc hands argc and argv to every constructor; this
// one keeps them. Defining the runtime's entry points here keeps CommandLine.cpp.o out of
// the static link, and with it that constructor (a duplicate definition would fail the
// link, not pass silently). In a dynamically linked test binary these definitions
// interpose the runtime's and return the same argv.
#include <stddef.h>

static int swrun_argc;
static char **swrun_argv;
static char *swrun_no_args[] = {NULL};

__attribute__((constructor(100))) static void swrun_keep_argv(int argc, char **argv, char **envp) {
    (void)envp;
    swrun_argc = argc;
    swrun_argv = argv;
}

char **_swift_stdlib_getUnsafeArgvArgc(int *outArgLen) {
    if (swrun_argv == NULL) {
        *outArgLen = 0;
        return swrun_no_args;
    }
    *outArgLen = swrun_argc;
    return swrun_argv;
}

void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc) {
    swrun_argv = argv;
    swrun_argc = argc;
}
