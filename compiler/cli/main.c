/* main.c — the `mimic` driver: dispatches to one command per cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct Command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} Command;

static const Command commands[] = {
    {"check", cmd_check, "validate a model; print its parameters, inputs, outputs and size"},
    {"ir", cmd_ir, "print a model's IR after the front end or any pass"},
    {"dot", cmd_dot, "print a model's graph in Graphviz dot"},
    {"init", cmd_init, "write initial weights of a model as safetensors"},
    {"run", cmd_run, "run a model on .npy inputs, write .npy outputs"},
    {"train", cmd_train, "train a model as a recipe says: progress, CSV log, loss curve, checkpoints"},
    {"grad", cmd_grad, "write the gradient of a loss with respect to every weight"},
    {"stats", cmd_stats, "kernels, FLOPs, bytes moved and memory of a model, unfused and fused"},
    {"compile", cmd_compile, "write a model as a native object file and C header"},
    {"inspect", cmd_inspect, "list the tensors of a .safetensors or .npy file"},
    {"data", cmd_data, "export Fashion-MNIST images and labels as .npy"},
    {"compare", cmd_compare, "check that two .npy arrays agree within a tolerance"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: mimic COMMAND [options]   (mimic COMMAND --help for its options)\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\nexit status: 0 success, 1 bad input (model, file, option), 2 internal error\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return EXIT_USER;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return EXIT_OK;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("mimic %s\n", MIMIC_VERSION);
    return EXIT_OK;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "mimic: error: unknown command '%s' (mimic --help lists them)\n", argv[1]);
  return EXIT_USER;
}
