/* gen: writers of generated models (`gradviz gen mlp|chain`), for examples, benchmarks and
 * property tests. They print model text; they do not build graphs. */
#ifndef GRADVIZ_GEN_H
#define GRADVIZ_GEN_H

#include "base.h"

typedef enum GenAct { GEN_TANH, GEN_RELU, GEN_SIGMOID } GenAct;

/* Parses "tanh", "relu", "sigmoid". false if unknown. */
bool gen_parse_act(const char *s, GenAct *act);

/* How gen mlp draws weights (issue 6: the profile shows the effect of initialisation).
 * fan_in/fan_out are the sizes of the layers a weight connects. */
typedef enum GenInit {
    GEN_INIT_UNIFORM, /* weights and biases uniform in [-1, 1) (micrograd's; the default) */
    GEN_INIT_XAVIER,  /* w ~ N(0, 2/(fan_in + fan_out)), biases 0 (Glorot, for tanh/sigmoid) */
    GEN_INIT_HE,      /* w ~ N(0, 2/fan_in), biases 0 (for relu) */
    GEN_INIT_NORMAL,  /* w and biases ~ N(0, 1): too large for deep nets, on purpose */
} GenInit;
/* Parses "uniform", "xavier", "he", "normal". false if unknown. */
bool gen_parse_init(const char *s, GenInit *init);

/* A scalar MLP: sizes[0] inputs, hidden layers sizes[1..n-2] with activation `act`, a linear
 * output layer of sizes[n-1] neurons, and a squared-error loss against const targets.
 * Weights uniform in [-1, 1) from a generator seeded with `seed`. n >= 2, every size >= 1.
 * Returns false if writing to f fails. */
bool gen_mlp(FILE *f, const uint32_t *sizes, size_t n, GenAct act, uint64_t seed);
/* gen_mlp with a choice of initialisation; GEN_INIT_UNIFORM writes exactly what gen_mlp does. */
bool gen_mlp_init(FILE *f, const uint32_t *sizes, size_t n, GenAct act, GenInit init, uint64_t seed);
/* A chain of `layers` activations h_k = act(w_k*h_{k-1} + b_k) from one input; the last
 * layer is the output. Weights and biases drawn from a standard normal. layers >= 1. */
bool gen_chain(FILE *f, uint32_t layers, GenAct act, uint64_t seed);

/* Nodes the generated model will have (for limits and benchmarks). */
uint64_t gen_mlp_nodes(const uint32_t *sizes, size_t n);

#endif
