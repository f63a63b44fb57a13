/* cli.h — what the `mimic` commands share: option parsing for model parameters and
 * loading a model from YAML or IR text. Each command lives in its own cmd_*.c. */
#ifndef MIMIC_CLI_H
#define MIMIC_CLI_H
#include "frontend/frontend.h"
#include "ir/ir.h"
#include "tensor.h"

/* Exit codes of every command. */
enum { EXIT_OK = 0, EXIT_USER = 1, EXIT_INTERNAL = 2 };

#define CLI_MAX_DEFINES 64
typedef struct CliModel {
  const char *path;                 /* model file: .yaml/.yml or .mir */
  FeDefine defines[CLI_MAX_DEFINES]; /* -D name=value, in order */
  int ndefines;
  int64_t batch;                    /* --batch N; 0 = not given */
  char store[CLI_MAX_DEFINES][128]; /* names split off "-D name=value" */
} CliModel;

/* If argv[*i] is -D/--batch (with its value), consume it and return 1; 0 when it is
 * something else; -1 after printing an error. */
int cli_model_arg(CliModel *m, int argc, char **argv, int *i, Diag *d);
/* Load m->path with m's defines and the given batch (<= 0: m->batch, else 1). */
Graph *cli_load(const CliModel *m, int64_t batch, FeInfo *info, Diag *d);
/* Whether a path names IR text. */
int cli_is_mir(const char *path);
/* Value of "--name=value" or "--name value" options; NULL when argv[*i] is not --name. */
const char *cli_opt(const char *name, int argc, char **argv, int *i, Diag *d);
int cli_parse_int(const char *s, int64_t *out);

/* bind.c: split NAME=PATH (-1 when malformed); the batch implied by the inputs of a YAML
 * model (0: none follows the batch); check inputs and weights against g, converting
 * bf16 -> f32 and in-range i64 -> i32 in place. Both report and return -1 on error. */
int cli_split_io(const char *arg, char *name, size_t n, const char **path);
int cli_infer_batch(const CliModel *m, const TensorSet *ins, int64_t *batch, Diag *d);
int cli_bind(const Graph *g, TensorSet *ins, TensorSet *ws, const char *wpath, Diag *d);
/* Read the .npy file paths[i] as input names[i] into ins; a name given twice is an error. */
int cli_read_inputs(char names[][128], const char *const *paths, int n, TensorSet *ins, Diag *d);

int cmd_check(int argc, char **argv);
int cmd_ir(int argc, char **argv);
int cmd_dot(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_grad(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_stats(int argc, char **argv);

#endif
