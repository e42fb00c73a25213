/* loadgen: make bench's driver of cold logins. Each line of FILE, "SERVICE USER ANSWER", is one
   `pamtester SERVICE USER authenticate` process with ANSWER on its standard input; at most JOBS run
   at once (default 1, one after another).

   usage: loadgen [-j JOBS] FILE

   Prints, per login, "LOGIN <line> <start_us> <end_us> <exit status> <peak RSS kB>" (CLOCK_MONOTONIC;
   the status is pamtester's, 0 for a success, or 128 + the signal), then "TOTAL_US <us>" from the
   first start to the last end.

   The processes are started with posix_spawn, which glibc implements with vfork semantics (the child
   shares this process's memory until it executes pamtester), so the peak RSS that wait4 reports for a
   child (ru_maxrss) is pamtester's own: nothing of a copy of the parent is counted, as it is after a
   plain fork of a large parent such as Python. A C driver also keeps the parent's cost per login small
   and the same for every module, so that many logins can run in parallel on a small machine. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct login {
    char service[128], user[128], answer[256];
    pid_t pid;
    long long start, end;
    int status;
    long rss_kb;
};

static long long monotonic_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

/* Starts login `l`: pamtester with a pipe for its standard input, which gets the answer at once
   (pam_permit never reads it; SIGPIPE is ignored). Output goes to /dev/null. */
static void start(struct login *l, int devnull) {
    int input[2];
    if (pipe2(input, O_CLOEXEC) != 0) { perror("pipe"); exit(2); }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, input[0], 0);
    posix_spawn_file_actions_adddup2(&actions, devnull, 1);
    posix_spawn_file_actions_adddup2(&actions, devnull, 2);
    char *argv[] = {"pamtester", l->service, l->user, "authenticate", NULL};
    l->start = monotonic_us();
    int error = posix_spawn(&l->pid, "/usr/bin/pamtester", &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) { fprintf(stderr, "loadgen: posix_spawn pamtester: %s\n", strerror(error)); exit(2); }
    close(input[0]);
    char line[260];
    int length = snprintf(line, sizeof line, "%s\n", l->answer);
    ssize_t ignored = write(input[1], line, (size_t)length);
    (void)ignored;
    close(input[1]);
}

int main(int argc, char **argv) {
    int jobs = 1, opt;
    while ((opt = getopt(argc, argv, "j:")) != -1) {
        if (opt == 'j') jobs = atoi(optarg);
        else { fprintf(stderr, "usage: loadgen [-j JOBS] FILE\n"); return 2; }
    }
    if (optind != argc - 1 || jobs < 1) { fprintf(stderr, "usage: loadgen [-j JOBS] FILE\n"); return 2; }
    FILE *f = fopen(argv[optind], "r");
    if (!f) { perror(argv[optind]); return 2; }
    size_t count = 0, capacity = 64;
    struct login *logins = calloc(capacity, sizeof *logins);
    char line[600];
    while (logins && fgets(line, sizeof line, f)) {
        if (count == capacity) logins = realloc(logins, (capacity *= 2) * sizeof *logins);
        if (!logins) break;
        struct login *l = &logins[count];
        memset(l, 0, sizeof *l);
        if (sscanf(line, "%127s %127s %255s", l->service, l->user, l->answer) == 3) count++;
    }
    fclose(f);
    if (!logins) { fprintf(stderr, "loadgen: out of memory\n"); return 2; }
    signal(SIGPIPE, SIG_IGN);
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    size_t next = 0, running = 0, done = 0;
    long long first = monotonic_us();
    while (done < count) {
        while (running < (size_t)jobs && next < count) {
            start(&logins[next++], devnull);
            running++;
        }
        int status;
        struct rusage usage;
        pid_t pid = wait4(-1, &status, 0, &usage);
        long long now = monotonic_us();
        if (pid < 0) {
            if (errno == EINTR) continue;
            perror("wait4");
            return 2;
        }
        for (size_t i = 0; i < next; i++) {
            if (logins[i].pid != pid || logins[i].end) continue;
            logins[i].end = now;
            logins[i].status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            logins[i].rss_kb = usage.ru_maxrss;
            break;
        }
        running--;
        done++;
    }
    long long last = monotonic_us();
    for (size_t i = 0; i < count; i++) {
        printf("LOGIN %zu %lld %lld %d %ld\n", i, logins[i].start - first, logins[i].end - first, logins[i].status,
               logins[i].rss_kb);
    }
    printf("TOTAL_US %lld\n", last - first);
    free(logins);
    return 0;
}
