/* bench_ad: times the passes alone on a model, repeating each until it has run for at least
 * half a second, and prints milliseconds per pass and the backward/forward ratio: forward
 * values alone (ad_forward), the forward sweep that also records every edge's local
 * derivative (ad_forward_tape, what a run does), and the backward sweep (ad_backward).
 * Usage: bench_ad MODEL.grad */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ad.h"
#include "parse.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static Source *load(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    Source *s = calloc(1, sizeof *s);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    s->text = malloc((size_t)n + 1);
    s->len = fread(s->text, 1, (size_t)n, f);
    s->text[s->len] = '\0';
    s->path = path;
    fclose(f);
    source_index_lines(s);
    return s;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_ad MODEL.grad\n");
        return 2;
    }
    Source *src = load(argv[1]);
    if (!src) {
        perror(argv[1]);
        return 3;
    }
    Err err = {0};
    double t0 = now();
    Graph *g = parse_model(src, &err);
    double t_parse = now() - t0;
    if (!g) {
        err_write(stderr, src, &err);
        return 1;
    }
    Trace *t = ad_run(g, src, &err);
    if (!t) {
        err_write(stderr, src, &err);
        return 1;
    }
    int nf = 0, nb = 0, nv = 0;
    double tf = 0, tb = 0, tv = 0;
    while (tv < 0.5) { /* values alone */
        t0 = now();
        ad_forward(g, t->value);
        tv += now() - t0;
        nv++;
    }
    while (tf < 0.5) { /* the forward sweep of reverse mode: values and local derivatives */
        t0 = now();
        ad_forward_tape(g, t->value, t->local);
        tf += now() - t0;
        nf++;
    }
    while (tb < 0.5) {
        t0 = now();
        ad_backward(t);
        tb += now() - t0;
        nb++;
    }
    printf("%u nodes %u edges: parse %.1f ms, forward (values) %.3f ms, forward (values + local "
           "derivatives) %.3f ms, backward %.3f ms, backward/forward %.2f (%.2f of values alone)\n",
           g->nnodes, g->nedges, t_parse * 1e3, tv / nv * 1e3, tf / nf * 1e3, tb / nb * 1e3, (tb / nb) / (tf / nf),
           (tb / nb) / (tv / nv));
    trace_free(t);
    graph_free(g);
    source_free(src);
    free(src);
    return 0;
}
