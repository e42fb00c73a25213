/* pamdrive: runs a real libpam stack from a private configuration directory (pam_start_confdir) with
   a scripted conversation, for the integration tests. Nothing in /etc is read or changed.

   usage: pamdrive -c CONFDIR -s SERVICE -u USER [-r RHOST] [-n REPEAT] [-t] [-q] [-S BYTES [-L BYTES]]
                   [-e NAME=VALUE]... [RESPONSE ...]

   -q calls pam_authenticate with PAM_SILENT, as sudo does unless `Defaults !pam_silent`.

   -e puts a variable into the PAM environment, as sshd does with SSH_AUTH_INFO_0. With -n, each
   cycle is a whole pam_start/pam_authenticate/pam_end, and "RSS_KB <cycle> <kB>" is printed after
   cycle 10, 100 and the last, for the memory-growth test.

   -t (for make bench-probe) adds timestamps, CLOCK_MONOTONIC in microseconds, to the output:
   "START_US <us>" before pam_start, "PROMPT_US <us>" when a conversation call with a prompt arrives,
   "ANSWER_US <us>" when it hands its answers back, and "END_US <us>" when pam_authenticate returns.

   -f FILE (for make bench): one cycle per line "USER ANSWER [SERVICE]" (SERVICE, if given, instead of
   -s), each timed from pam_start to pam_end and printed as "CYCLE_US <microseconds> <pam result>". -p PATH (repeatable) first loads the module
   at PATH and keeps it loaded, so that libpam's dlopen at each pam_start and dlclose at each pam_end
   find it mapped already: the module's own work, without loading it (make bench's warm login).

   -S BYTES runs each pam_authenticate on a thread of its own whose stack is BYTES
   (pthread_attr_setstacksize; glibc puts a guard page below it, so an overflow is a SIGSEGV, not a
   silent corruption), as ocserv runs PAM on a 96 KiB coroutine stack. Before the call the thread
   fills its unused stack with a pattern; afterwards it prints "STACK_USED <bytes>": how far below
   the thread function's own frame the pattern was overwritten, the high-water mark of
   pam_authenticate with the modules and this conversation function. -L BYTES leaves pam_authenticate
   only BYTES of that stack (the thread takes the rest first, with alloca): a thread's stack cannot be
   smaller than PTHREAD_STACK_MIN (16 KiB here), of which glibc keeps its thread data at the top.

   Each prompt takes the next RESPONSE; "@file:PATH" answers with the contents of PATH (for inputs too
   long for the command line). What the module says is printed on stdout, one line each:
     PROMPT_OFF: text | PROMPT_ON: text | ERROR: text | INFO: text | DELAY: usec | RESULT: code name
   The tests preload libsyslog_capture.so to read what the module logs. The exit status is the last
   pam_authenticate result. */
#define _GNU_SOURCE
#include <alloca.h>
#include <dlfcn.h>
#include <pthread.h>
#include <security/pam_appl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long resident_kb(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Set in timed (-f) mode: the conversation and the fail-delay hook print nothing. */
static int quiet;
/* Set by -t: the conversation prints when prompts arrive and when answers go back. */
static int timestamps;
/* The flags pam_authenticate is called with: PAM_SILENT with -q. */
static int authenticate_flags;

static long long monotonic_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

struct script {
    int count;
    char **responses;
    int next;
};

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(100); }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf) exit(100);
    buf[len] = 0;
    return buf;
}

static int converse(int num, const struct pam_message **msg, struct pam_response **resp, void *data) {
    /* Taken first, so that the interval since the last answer is the module's time, not ours. */
    long long arrived = timestamps ? monotonic_us() : 0;
    int prompted = 0;
    struct script *s = data;
    struct pam_response *r = calloc((size_t)num, sizeof *r);
    if (!r) return PAM_BUF_ERR;
    for (int i = 0; i < num; i++) {
        if (timestamps && !prompted && (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON)) {
            prompted = 1;
            printf("PROMPT_US %lld\n", arrived);
        }
        switch (msg[i]->msg_style) {
        case PAM_PROMPT_ECHO_OFF:
        case PAM_PROMPT_ECHO_ON:
            if (!quiet) printf("%s: %s\n", msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ? "PROMPT_OFF" : "PROMPT_ON", msg[i]->msg);
            if (s->next >= s->count) {
                printf("CONV: no response left\n");
                for (int j = 0; j < i; j++) free(r[j].resp);
                free(r);
                return PAM_CONV_ERR;
            }
            {
                const char *answer = s->responses[s->next++];
                r[i].resp = strncmp(answer, "@file:", 6) == 0 ? read_file(answer + 6) : strdup(answer);
            }
            break;
        case PAM_ERROR_MSG: if (!quiet) printf("ERROR: %s\n", msg[i]->msg); break;
        case PAM_TEXT_INFO: if (!quiet) printf("INFO: %s\n", msg[i]->msg); break;
        default: if (!quiet) printf("OTHER(%d): %s\n", msg[i]->msg_style, msg[i]->msg); break;
        }
    }
    fflush(stdout);
    *resp = r;
    /* Taken last, after the flush; the line is buffered and goes out with the next flush. */
    if (prompted) printf("ANSWER_US %lld\n", monotonic_us());
    return PAM_SUCCESS;
}

/* Replaces libpam's sleep after a failure: the tests see the delay requested without waiting for it. */
static void fail_delay(int status, unsigned int usec, void *data) {
    (void)data;
    if (!quiet) printf("DELAY: %u (status %d)\n", usec, status);
}

/* -S: pam_authenticate on a thread with a stack of a given size, and its high-water mark. */
struct on_thread {
    pam_handle_t *pamh;
    int flags;
    size_t limit;
    int result;
    size_t used;
};

#define STACK_PATTERN 0x5a5aa5a5c3c33c3cULL

/* Not inlined, so that its frame is below the caller's sp and the fill stops short of it. */
static __attribute__((noinline)) void fill_below(uint64_t *low, uint64_t *high) {
    for (volatile uint64_t *p = low; p < high; p++) *p = STACK_PATTERN;
}

static void *authenticate_on_thread(void *data) {
    struct on_thread *job = data;
    pthread_attr_t attr;
    void *base = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) != 0 || pthread_attr_getstack(&attr, &base, &size) != 0) {
        job->result = -1;
        return NULL;
    }
    pthread_attr_destroy(&attr);
    /* With -L, all but `limit` bytes of what is left go to an alloca block; its low end is then
       where pam_authenticate's frames start. */
    char here;
    char *mark = &here;
    size_t left = (size_t)((uintptr_t)&here - (uintptr_t)base);
    if (job->limit && job->limit < left) {
        volatile char *taken = alloca(left - job->limit);
        taken[0] = 0;
        mark = (char *)taken;
    }
    /* Everything from the lowest usable address up to 512 bytes below the mark (fill_below's own
       frame and the red zone lie in between) gets the pattern. */
    uint64_t *low = (uint64_t *)(((uintptr_t)base + 7) & ~(uintptr_t)7);
    uint64_t *top = (uint64_t *)(((uintptr_t)mark - 512) & ~(uintptr_t)7);
    fill_below(low, top);
    job->result = pam_authenticate(job->pamh, job->flags);
    uint64_t *p = low;
    while (p < top && *(volatile uint64_t *)p == STACK_PATTERN) p++;
    job->used = (size_t)((uintptr_t)mark - (uintptr_t)p);
    return NULL;
}

/* Runs pam_authenticate on a new thread whose stack is `stack_size` bytes; prints STACK_USED. */
static int authenticate_with_stack(pam_handle_t *pamh, int flags, size_t stack_size, size_t limit) {
    pthread_attr_t attr;
    pthread_t thread;
    struct on_thread job = {pamh, flags, limit, PAM_SYSTEM_ERR, 0};
    int error = pthread_attr_init(&attr);
    if (error == 0) error = pthread_attr_setstacksize(&attr, stack_size);
    if (error == 0) error = pthread_create(&thread, &attr, authenticate_on_thread, &job);
    if (error != 0) {
        fprintf(stderr, "pamdrive: a thread with a %zu-byte stack: %s\n", stack_size, strerror(error));
        exit(100);
    }
    pthread_join(thread, NULL);
    pthread_attr_destroy(&attr);
    printf("STACK_USED %zu\n", job.used);
    return job.result;
}

int main(int argc, char **argv) {
    const char *confdir = NULL, *service = NULL, *user = NULL, *rhost = NULL, *cycles = NULL;
    const char *environment[16];
    int environment_count = 0;
    long repeat = 1;
    size_t stack_size = 0, stack_limit = 0;
    int opt;
    while ((opt = getopt(argc, argv, "c:s:u:r:n:e:f:p:S:L:tq")) != -1) {
        switch (opt) {
        case 'c': confdir = optarg; break;
        case 's': service = optarg; break;
        case 'u': user = optarg; break;
        case 'r': rhost = optarg; break;
        case 'n': repeat = strtol(optarg, NULL, 10); break;
        case 'f': cycles = optarg; break;
        case 't': timestamps = 1; break;
        case 'q': authenticate_flags = PAM_SILENT; break;
        case 'S': stack_size = (size_t)strtoul(optarg, NULL, 10); break;
        case 'L': stack_limit = (size_t)strtoul(optarg, NULL, 10); break;
        case 'p':
            /* Never closed: the reference keeps the module mapped across pam_end. */
            if (!dlopen(optarg, RTLD_NOW | RTLD_LOCAL)) { fprintf(stderr, "pamdrive: %s\n", dlerror()); return 100; }
            break;
        case 'e':
            if (environment_count < 16) environment[environment_count++] = optarg;
            break;
        default:
            fprintf(stderr, "usage: pamdrive -c CONFDIR -s SERVICE -u USER [-r RHOST] [-n N] [-t] [-q] [-S BYTES [-L BYTES]] [RESPONSE...]\n"
                            "       pamdrive -c CONFDIR [-s SERVICE] -f FILE [-p MODULE]...\n");
            return 100;
        }
    }
    if (cycles && confdir) {
        quiet = 1;
        FILE *f = fopen(cycles, "r");
        if (!f) { perror(cycles); return 100; }
        char line[768], name[256], answer[256], line_service[256];
        struct pam_conv timed = {converse, NULL};
        while (fgets(line, sizeof line, f)) {
            int fields = sscanf(line, "%255s %255s %255s", name, answer, line_service);
            if (fields < 2 || (fields == 2 && !service)) continue;
            char *one[1] = {answer};
            struct script s = {1, one, 0};
            timed.appdata_ptr = &s;
            struct timespec a, b;
            pam_handle_t *pamh = NULL;
            clock_gettime(CLOCK_MONOTONIC, &a);
            int rc = pam_start_confdir(fields == 3 ? line_service : service, name, &timed, confdir, &pamh);
            if (rc == PAM_SUCCESS) {
                pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)fail_delay);
                rc = pam_authenticate(pamh, PAM_SILENT);
                pam_end(pamh, rc);
            }
            clock_gettime(CLOCK_MONOTONIC, &b);
            printf("CYCLE_US %ld %d\n", (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000L, rc);
        }
        fclose(f);
        return 0;
    }
    if (!confdir || !service || !user || repeat < 1) {
        fprintf(stderr, "pamdrive: -c, -s and -u are required\n");
        return 100;
    }
    struct script script = {argc - optind, argv + optind, 0};
    struct pam_conv conv = {converse, &script};
    int result = PAM_SUCCESS;
    for (long i = 0; i < repeat; i++) {
        pam_handle_t *pamh = NULL;
        script.next = 0;
        if (timestamps) printf("START_US %lld\n", monotonic_us());
        int rc = pam_start_confdir(service, user, &conv, confdir, &pamh);
        if (rc != PAM_SUCCESS) {
            printf("RESULT: %d pam_start_confdir: %s\n", rc, pam_strerror(pamh, rc));
            return rc;
        }
        if (rhost) pam_set_item(pamh, PAM_RHOST, rhost);
        for (int e = 0; e < environment_count; e++) pam_putenv(pamh, environment[e]);
        pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)fail_delay);
        result = stack_size ? authenticate_with_stack(pamh, authenticate_flags, stack_size, stack_limit)
                            : pam_authenticate(pamh, authenticate_flags);
        if (timestamps) printf("END_US %lld\n", monotonic_us());
        printf("RESULT: %d %s\n", result, pam_strerror(pamh, result));
        pam_end(pamh, result);
        if (repeat > 1 && (i + 1 == 10 || i + 1 == 100 || i + 1 == repeat)) printf("RSS_KB %ld %ld\n", i + 1, resident_kb());
        fflush(stdout);
    }
    return result;
}
