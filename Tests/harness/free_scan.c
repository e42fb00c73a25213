/* libfree_scan.so: an LD_PRELOAD library for the freed-memory test (test_memory_secrets.py). It wraps
   free() and realloc(), and before a block goes back to the allocator it searches the whole block
   for each byte string named in $FREE_SCAN_NEEDLES (comma-separated, each in hex). A match means a
   secret was released without being overwritten, where a later allocation, a core dump or a heap
   read could find it.

   At exit it prints one line per needle on standard error:
       FREE_SCAN needle=<index> hits=<blocks that contained it> blocks=<blocks scanned>

   Swift's arrays and strings are allocated with malloc and released with free (swift_slowDealloc),
   so a free() wrapper sees every buffer the module releases. malloc_usable_size gives the real
   size of a block, slack included. realloc is reimplemented as malloc + copy + free so that a block
   it moves is scanned too (glibc's own realloc frees the old block internally, not through free). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NEEDLES 8
#define MAX_NEEDLE_BYTES 256

static unsigned char needles[MAX_NEEDLES][MAX_NEEDLE_BYTES];
static size_t needle_lengths[MAX_NEEDLES];
static unsigned long hits[MAX_NEEDLES];
static int needle_count;
static unsigned long blocks;
static void (*real_free)(void *);

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

__attribute__((constructor)) static void free_scan_start(void) {
    /* Resolved here, before anything is scanned: dlsym may itself allocate and free. */
    real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    const char *spec = getenv("FREE_SCAN_NEEDLES");
    if (!spec) return;
    size_t length = 0;
    for (const char *p = spec;; p++) {
        if (*p == ',' || *p == '\0') {
            if (length > 0 && needle_count < MAX_NEEDLES) needle_lengths[needle_count++] = length;
            length = 0;
            if (*p == '\0') break;
            continue;
        }
        int high = hex_value(p[0]), low = p[1] ? hex_value(p[1]) : -1;
        if (high < 0 || low < 0 || needle_count >= MAX_NEEDLES || length >= MAX_NEEDLE_BYTES) {
            fprintf(stderr, "FREE_SCAN bad FREE_SCAN_NEEDLES\n");
            exit(100);
        }
        needles[needle_count][length++] = (unsigned char)(high << 4 | low);
        p++;
    }
}

__attribute__((destructor)) static void free_scan_report(void) {
    for (int i = 0; i < needle_count; i++) fprintf(stderr, "FREE_SCAN needle=%d hits=%lu blocks=%lu\n", i, hits[i], blocks);
}

static void scan(void *block) {
    size_t size = malloc_usable_size(block);
    blocks++;
    for (int i = 0; i < needle_count; i++) {
        if (memmem(block, size, needles[i], needle_lengths[i]) != NULL) hits[i]++;
    }
}

void free(void *block) {
    if (block == NULL) return;
    if (real_free == NULL) return; /* before the constructor ran (dlsym's own bookkeeping): leak it */
    scan(block);
    real_free(block);
}

void *realloc(void *block, size_t size) {
    if (block == NULL) return malloc(size);
    if (size == 0) {
        free(block);
        return NULL;
    }
    void *moved = malloc(size);
    if (moved == NULL) return NULL;
    size_t old = malloc_usable_size(block);
    memcpy(moved, block, old < size ? old : size);
    free(block);
    return moved;
}
