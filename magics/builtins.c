/* builtins: the table of magics, and the ones that need no SageMaker:
 * %help, %config, %vars, %echo, %sleep, %clear. The others are declared
 * in aws_magics.h and journal.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws_magics.h"
#include "buf.h"
#include "journal.h"
#include "magic.h"
#include "magics.h"
#include "render.h"

static int magic_help(sm_call *call);
static int magic_config(sm_call *call);
static int magic_vars(sm_call *call);
static int magic_echo(sm_call *call);
static int magic_sleep(sm_call *call);
static int magic_clear(sm_call *call);

static const sm_flag no_flags[] = {{0}};
static const sm_flag echo_flags[] = {
    {"stderr", 'e', NULL, "write to standard error instead of standard output"},
    {"no-newline", 'n', NULL, "do not end with a newline"},
    {0}};
static const sm_flag clear_flags[] = {
    {"wait", 'w', NULL, "clear when the next output arrives (no flicker)"},
    {0}};
static const sm_flag upload_flags[] = {
    {"bucket", 0, "B", "the bucket (default: %config bucket, else "
                       "sagemaker-REGION-ACCOUNT, created when missing)"},
    {"prefix", 0, "P", "the key prefix (default: %config prefix, and the "
                       "folder's name for one folder)"},
    {"key", 0, "K", "the exact key, for one file"},
    {"dry-run", 0, NULL, "show the requests each file would take and send "
                         "nothing"},
    {0}};
static const sm_flag ls_flags[] = {
    {"recursive", 'r', NULL, "every key under the prefix, not folder by folder"},
    {"limit", 0, "N", "show at most N entries (default 1000)"},
    {0}};
static const sm_flag image_flags[] = {
    {"version", 0, "V", "the algorithm's version (xgboost: 1.7-1 unless "
                        "given)"},
    {0}};
static const sm_flag kind_flags[] = {
    {"kind", 0, "KIND", "training, transform or tuning (default: any)"},
    {0}};
static const sm_flag jobs_flags[] = {
    {"kind", 0, "KIND", "training, transform or tuning (default: all three)"},
    {"status", 0, "S", "only jobs in this status: InProgress, Completed, "
                       "Failed, Stopping, Stopped"},
    {"limit", 0, "N", "at most N jobs (default 20)"},
    {0}};
static const sm_flag logs_flags[] = {
    {"tail", 0, "N", "only the last N lines of each log stream"},
    {"filter", 0, "TEXT", "only lines matching this CloudWatch Logs filter "
                          "pattern (plain words: lines holding them all)"},
    {"follow", 'f', NULL, "keep showing new lines until the job ends (an "
                          "interrupt stops following, not the job)"},
    {0}};
static const sm_flag prepare_flags[] = {
    {"label", 0, "COLUMN", "the column to predict (required); it goes first"},
    {"split", 0, "F,F[,F]", "fractions for train, validation[, test] "
                            "(default 0.8,0.1,0.1)"},
    {"seed", 0, "N", "the shuffle's seed (default 42): the same seed gives "
                     "the same files"},
    {"out", 0, "DIR", "the folder for train.csv, validation.csv, test.csv "
                      "(default: FILE without .csv, plus -prepared)"},
    {0}};

static const sm_flag train_flags[] = {
    {"train", 0, "URI", "the S3 data to train on (required)"},
    {"validation", 0, "URI", "S3 data to validate on each round"},
    {"content-type", 0, "T", "the data's content type (default text/csv)"},
    {"instance", 0, "TYPE", "instance type (default: %config instance_type)"},
    {"count", 0, "N", "number of instances (default 1)"},
    {"max-runtime", 0, "S", "stop the job after S seconds (default 86400)"},
    {"output", 0, "URI", "where the model goes (default: "
                         "s3://BUCKET/PREFIX/ from %config)"},
    {"name", 0, "N", "the job's name (default: ALGO-yyyy-mm-dd-HH-MM-SS-mmm)"},
    {"version", 0, "V", "the algorithm's version (xgboost: 1.7-1 unless given)"},
    {"no-wait", 0, NULL, "start the job and return at once"},
    {"dry-run", 0, NULL, "show the CreateTrainingJob request and send nothing"},
    {0}};
static const sm_flag transform_flags[] = {
    {"input", 0, "URI", "the S3 data to transform: an object or a prefix "
                        "(required)"},
    {"output", 0, "URI", "where the results go, one INPUT.out per input "
                         "object (required)"},
    {"instance", 0, "TYPE", "instance type (default: %config instance_type)"},
    {"count", 0, "N", "number of instances (default 1)"},
    {"split", 0, "line|none", "line: each line a record, results one per "
                              "line (default: each object whole)"},
    {"content-type", 0, "T", "the input's content type (default text/csv)"},
    {"strategy", 0, "single|multi", "with --split line: one record a "
                                    "request, or as many as --max-payload "
                                    "holds (the default)"},
    {"max-payload", 0, "MB", "the most a request carries (default 6)"},
    {"input-filter", 0, "JSONPATH", "the fields of each record the model "
                                    "sees, e.g. '$[1:]' leaves out a label "
                                    "in the first column"},
    {"join", 0, NULL, "write each input record before its prediction"},
    {"output-filter", 0, "JSONPATH", "the fields written, e.g. '$[0,-1]': "
                                     "the first and the prediction"},
    {"name", 0, "N", "the job's name (default: MODEL-yyyy-mm-dd-HH-MM-SS-mmm)"},
    {"no-wait", 0, NULL, "start the job and return at once"},
    {"dry-run", 0, NULL, "show the CreateModel and CreateTransformJob "
                         "requests and create nothing (only Describe calls "
                         "are sent)"},
    {0}};

static const sm_flag tune_flags[] = {
    {"train", 0, "URI", "the training data (required)"},
    {"validation", 0, "URI", "the validation data the objective is measured "
                             "on (required)"},
    {"objective", 0, "METRIC[:minimize|:maximize]",
     "the metric to tune for, e.g. validation:auc (maximized) or "
     "validation:rmse (minimized) (required)"},
    {"max-jobs", 0, "N", "training jobs in all (required)"},
    {"parallel", 0, "P", "training jobs at once (required)"},
    {"strategy", 0, "S", "bayesian (default), random, grid or hyperband"},
    {"content-type", 0, "T", "the data's type (default text/csv)"},
    {"instance", 0, "TYPE", "instance type (default: %config instance_type)"},
    {"version", 0, "V", "the algorithm's version (default: the newest)"},
    {"output", 0, "URI", "where the models go (default: the bucket and "
                         "prefix)"},
    {"name", 0, "N", "the tuning job's name, at most 32 characters (default: "
                     "ALGO-yymmdd-HHMMSS)"},
    {"no-wait", 0, NULL, "start the tuning job and return at once"},
    {"dry-run", 0, NULL, "show the CreateHyperParameterTuningJob request and "
                         "send nothing"},
    {0}};

static const sm_flag deploy_flags[] = {
    {"name", 0, "EP", "the endpoint's name, also given to its config and "
                      "model (default: IMAGE-yyyy-mm-dd-HH-MM-SS-mmm)"},
    {"instance", 0, "TYPE", "instance type (default ml.m5.large)"},
    {"count", 0, "N", "number of instances (default 1)"},
    {"ttl", 0, "DURATION", "delete the endpoint after this long (90s, 30m, "
                           "2h, 1h30m) if this kernel still runs then"},
    {"no-wait", 0, NULL, "create the endpoint and return at once"},
    {"dry-run", 0, NULL, "show the requests (and on aws the cost per hour) "
                         "and send nothing"},
    {0}};
static const sm_flag predict_flags[] = {
    {"file", 0, "PATH", "send the rows of this file"},
    {"rows", 0, "N", "send only the first N rows"},
    {"label-first", 0, NULL, "the rows' first field is the true value (as in "
                             "SageMaker's training files): sent without it "
                             "and shown beside each prediction"},
    {"content-type", 0, "T", "the rows' type: csv (default), libsvm, json, "
                             "jsonlines, parquet or a media type"},
    {"accept", 0, "T", "the answer's type (default: the endpoint's, text/csv "
                       "for XGBoost)"},
    {0}};
static const sm_flag force_flags[] = {
    {"force", 'f', NULL, "delete without asking"},
    {0}};

static const sm_flag experiments_flags[] = {
    {"where", 0, "COND", "only runs where KEY OP VALUE holds (OP: = != < <= "
                         "> >= ~; KEY: status, kind, name, a final metric or "
                         "a hyperparameter; several joined by commas or "
                         "'and')"},
    {"sort", 0, "KEY", "order by this metric, hyperparameter or field, "
                       "smallest first (KEY:desc: largest first)"},
    {"kind", 0, "KIND", "only runs of this kind (training, tuning, "
                        "transform, endpoint, model, endpoint-config, or all; "
                        "by default all but the models and endpoint configs, "
                        "which their endpoint and transform runs name)"},
    {0}};
static const sm_flag reproduce_flags[] = {
    {"name", 0, "N", "the new job's name (default: "
                     "JOB-yyyy-mm-dd-HH-MM-SS-mmm)"},
    {"no-wait", 0, NULL, "start the job and return at once"},
    {0}};
static const sm_flag export_flags[] = {
    {"where", 0, "COND", "export only the runs where KEY OP VALUE holds (as "
                         "for %experiments)"},
    {0}};

static const sm_magic table[] = {
    {"help", magic_help, "%help [MAGIC]",
     "lists the magics, or shows one magic's usage, flags and an example", NULL,
     "%help config", no_flags, 0, 1, SM_LINE, false},
    {"config", magic_config, "%config [KEY[=VALUE] ...]",
     "shows or sets settings; %%config takes one KEY = VALUE per line",
     "the settings", "%config backend=local region=us-west-2", no_flags, 0, -1,
     SM_LINE | SM_CELL, true},
    {"whoami", sm_magic_whoami, "%whoami",
     "shows the identity calls run as (STS), the region, the backend and the "
     "default bucket",
     "the identity, region, backend and bucket", "%whoami", no_flags, 0, 0,
     SM_LINE, false},
    {"prepare", sm_magic_prepare,
     "%prepare FILE --label COLUMN [--split 0.8,0.1,0.1] [--seed N] "
     "[--out DIR]",
     "turns a CSV with a header into SageMaker's training format (label "
     "first, no header, no index), shuffled with the seed and split into "
     "train, validation and test files; every value must be a number",
     "the folder", "data = %prepare housing.csv --label price --seed 7",
     prepare_flags, 1, 1, SM_LINE, false},
    {"upload", sm_magic_upload, "%upload PATH... [--bucket B] [--prefix P] "
                                "[--key K] [--dry-run]",
     "uploads files or folders to S3 (multipart when large) and shows size, "
     "checksum and throughput",
     "the s3:// URI of the file, or of the prefix for a folder or several "
     "files",
     "train = %upload data/train.csv", upload_flags, 1, -1, SM_LINE, false},
    {"ls", sm_magic_ls, "%ls [S3URI] [-r] [--limit N]",
     "lists objects with sizes and dates (no argument: the default bucket's "
     "prefix; s3:// alone: the buckets)",
     "the entries (key, size, last_modified, uri)", "%ls s3://my-bucket/data/",
     ls_flags, 0, 1, SM_LINE, false},
    {"download", sm_magic_download, "%download S3URI [PATH]",
     "downloads an object, or every object under a prefix, to a file or "
     "folder", "the local path", "%download $train data/copy.csv", no_flags, 1,
     2, SM_LINE, false},
    {"image", sm_magic_image, "%image ALGO [--version V]",
     "the built-in algorithm's container image for the region (xgboost)",
     "the image URI", "%image xgboost --version 1.7-1", image_flags, 1, 1,
     SM_LINE, false},
    {"train", sm_magic_train,
     "%train ALGO|IMAGE --train URI [--validation URI] [--content-type T] "
     "[--instance TYPE] [--count N] [--max-runtime S] [--output URI] "
     "[--name N] [--no-wait] [--dry-run] key=value...",
     "creates a training job (hyperparameters as key=value, or one per line "
     "of %%train's body), then shows it live: status, log lines, metrics "
     "and a chart",
     "the job name",
     "job = %train xgboost --train $train --validation $val num_round=20",
     train_flags, 1, 1, SM_LINE | SM_CELL, true},
    {"stop", sm_magic_stop, "%stop NAME",
     "stops a training, transform or tuning job", "the job name",
     "%stop $job", no_flags, 1, 1, SM_LINE, false},
    {"status", sm_magic_status, "%status [NAME] [--kind KIND]",
     "one job in detail: status, times, instance, data, metrics (no name: "
     "the latest job)",
     "the job's description", "%status my-training-job", kind_flags, 0, 1,
     SM_LINE, false},
    {"jobs", sm_magic_jobs, "%jobs [--kind KIND] [--status S] [--limit N]",
     "lists training, transform and tuning jobs, newest first",
     "the jobs (name, kind, status, created)", "%jobs --status Failed",
     jobs_flags, 0, 0, SM_LINE, false},
    {"logs", sm_magic_logs, "%logs NAME [--tail N] [--filter TEXT] [--follow]",
     "shows a training or transform job's log lines (or an endpoint's) from "
     "CloudWatch Logs",
     NULL, "%logs my-training-job --tail 20", logs_flags, 1, 1, SM_LINE, false},
    {"deploy", sm_magic_deploy,
     "%deploy JOB|MODEL [--name EP] [--instance TYPE] [--count N] "
     "[--ttl DURATION] [--no-wait] [--dry-run]",
     "creates a model from a training job (or uses a model), its endpoint "
     "config and endpoint, then shows it live until InService",
     "the endpoint name", "ep = %deploy $job --ttl 2h", deploy_flags, 1, 1,
     SM_LINE, false},
    {"predict", sm_magic_predict,
     "%predict EP ROW | --file PATH [--rows N] [--label-first]; %%predict EP "
     "with rows in the body",
     "invokes an endpoint with one row, a file of rows, or the cell's rows",
     "the predictions, one per row", "p = %predict $ep 0.5,1.2,3.4",
     predict_flags, 1, -1, SM_LINE | SM_CELL, false},
    {"transform", sm_magic_transform,
     "%transform JOB|MODEL --input URI --output URI [--instance TYPE] "
     "[--count N] [--split line] [--strategy single|multi] [--max-payload MB] "
     "[--content-type T] [--input-filter JSONPATH] "
     "[--join] [--output-filter JSONPATH] [--name N] [--no-wait] "
     "[--dry-run]",
     "runs a batch transform job with a model (made from a completed "
     "training job when given one), shown live, then where the output is "
     "and its first lines",
     "the job name",
     "%transform $job --input $test --output s3://my-bucket/predictions/ "
     "--split line",
     transform_flags, 1, 1, SM_LINE, false},
    {"tune", sm_magic_tune,
     "%tune ALGO|IMAGE --train URI --validation URI --objective "
     "METRIC[:minimize|:maximize] --max-jobs N --parallel P "
     "[--strategy bayesian|random|grid|hyperband] [--no-wait] [--dry-run] "
     "RANGE... [KEY=VALUE...]",
     "runs a hyperparameter tuning job over ranges such as eta=0.01..0.3, "
     "max_depth=3..10:int, alpha=0.001..10:log or booster=gbtree|dart (other "
     "KEY=VALUE words are fixed), shown live with a leaderboard, then a chart "
     "of the objective by job",
     "the tuning job name",
     "%tune xgboost --train $train --validation $val --objective "
     "validation:auc --max-jobs 12 --parallel 3 eta=0.05..0.5 "
     "max_depth=2..8:int objective=binary:logistic num_round=50",
     tune_flags, 1, 1, SM_LINE, true},
    {"endpoints", sm_magic_endpoints, "%endpoints",
     "lists the account's endpoints: status, instance, uptime, estimated "
     "cost so far, and which this kernel created",
     "the endpoints", "%endpoints", no_flags, 0, 0, SM_LINE, false},
    {"delete", sm_magic_delete, "%delete EP [-f]",
     "deletes an endpoint with its endpoint config and model (asks first "
     "unless -f)",
     "the endpoint name", "%delete $ep -f", force_flags, 1, 1, SM_LINE, false},
    {"cleanup", sm_magic_cleanup, "%cleanup [-f]",
     "deletes every endpoint this kernel created, with its config and model "
     "(asks first unless -f)",
     "the deleted endpoints", "%cleanup -f", force_flags, 0, 0, SM_LINE,
     false},
    {"api", sm_magic_api, "%%api SERVICE OPERATION",
     "one API call of sagemaker, logs, sts, s3 or runtime with a JSON body "
     "(${NAME} expands in it)",
     "the response", "%%api sagemaker ListTrainingJobs", no_flags, 2, 2,
     SM_CELL, false},
    {"experiments", sm_magic_experiments,
     "%experiments [--where COND] [--sort KEY] [--kind KIND]",
     "the runs of the experiment journal kept beside the notebook "
     "(training, tuning and transform jobs, endpoints; --kind model or all "
     "for models and endpoint configs): status, final metrics and the "
     "hyperparameters that vary",
     "the runs (name, kind, status, metrics, hyperparameters)",
     "%experiments --where \"status=Completed\" --sort validation:rmse",
     experiments_flags, 0, 0, SM_LINE, false},
    {"compare", sm_magic_compare, "%compare JOB JOB...",
     "runs side by side: hyperparameters and final metrics in a table, and "
     "their metric curves overlaid in one chart per metric",
     "the runs compared", "%compare $job1 $job2", no_flags, 2, -1, SM_LINE,
     false},
    {"reproduce", sm_magic_reproduce, "%reproduce JOB [--name N] [--no-wait]",
     "trains the journal's job again with the same request, once its inputs' "
     "sizes and checksums are the same as then (else says what differs)",
     "the new job's name", "again = %reproduce $job", reproduce_flags, 1, 1,
     SM_LINE, false},
    {"export", sm_magic_export, "%export FILE [JOB...] [--where COND]",
     "writes the journal's record of the runs named (default: all) as "
     "FILE.json and FILE.md, to keep with the notebook",
     "the two files' paths", "%export experiments $job1 $job2", export_flags,
     1, -1, SM_LINE, false},
    {"vars", magic_vars, "%vars", "lists the variables and their values", NULL,
     "%vars", no_flags, 0, 0, SM_LINE, false},
    {"echo", magic_echo, "%echo [-e] [-n] WORDS...",
     "prints the words (with $NAME expanded)", NULL, "%echo training on $train",
     echo_flags, 0, -1, SM_LINE, false},
    {"sleep", magic_sleep, "%sleep SECONDS",
     "waits; an interrupt stops the wait at once", NULL, "%sleep 1.5", no_flags,
     1, 1, SM_LINE, false},
    {"clear", magic_clear, "%clear [--wait]", "clears this cell's output so far",
     NULL, "%clear --wait", clear_flags, 0, 0, SM_LINE, false},
};

const sm_magic *sm_magic_table(size_t *count)
{
    *count = sizeof table / sizeof *table;
    return table;
}

const sm_magic *sm_magic_find(const char *name)
{
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

char *sm_magic_help(const sm_magic *magic)
{
    sm_buf b = {0};
    sm_buf_printf(&b, "%s\n\n%c%s.\n", magic->usage,
                  magic->summary[0] >= 'a' && magic->summary[0] <= 'z'
                      ? magic->summary[0] - 'a' + 'A'
                      : magic->summary[0],
                  magic->summary + 1);
    if (magic->returns)
        sm_buf_printf(&b, "Returns %s.\n", magic->returns);
    sm_buf_puts(&b, "\nFlags:\n");
    for (const sm_flag *f = magic->flags; f->name; f++) {
        char left[64];
        snprintf(left, sizeof left, "%s%c%s--%s%s%s", f->short_name ? "-" : "",
                 f->short_name ? f->short_name : ' ', f->short_name ? ", " : " ",
                 f->name, f->value ? " " : "", f->value ? f->value : "");
        sm_buf_printf(&b, "  %-28s %s\n", f->short_name ? left : left + 2,
                      f->help);
    }
    sm_buf_printf(&b, "  %-28s %s\n", "-h, --help", "show this help");
    sm_buf_printf(&b, "\nExample:\n  %s\n", magic->example);
    return sm_buf_take(&b);
}

char *sm_magics_reference_markdown(void)
{
    sm_buf b = {0};
    sm_buf_puts(&b, "| magic | does | returns | example |\n|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        const sm_magic *m = &table[i];
        /* a | in a cell (even in a code span) must be \| in GFM tables */
        const char *cells[] = {m->usage, m->summary,
                               m->returns ? m->returns : "", m->example};
        const char *open[] = {"| `", " | ", " | ", " | `"};
        const char *close[] = {"`", "", "", "` |\n"};
        for (size_t c = 0; c < 4; c++) {
            sm_buf_puts(&b, open[c]);
            for (const char *p = cells[c]; *p; p++) {
                if (*p == '|')
                    sm_buf_putc(&b, '\\');
                sm_buf_putc(&b, *p);
            }
            sm_buf_puts(&b, close[c]);
        }
    }
    return sm_buf_take(&b);
}

/* ---- the magics ---------------------------------------------------------- */

static int magic_help(sm_call *call)
{
    if (call->args.n_positional == 1) {
        const char *name = call->args.positional[0];
        name += name[0] == '%' ? (name[1] == '%' ? 2 : 1) : 0;
        const sm_magic *magic = sm_magic_find(name);
        if (!magic)
            return sm_error_set(&call->err, "no magic %%%s; %%help lists them",
                                name);
        char *help = sm_magic_help(magic);
        int rc = sm_out_display(call->out, json_pack("{s:s}", "text/plain", help),
                                NULL, NULL);
        free(help);
        return rc;
    }
    json_t *headers = json_pack("[s, s]", "magic", "does");
    json_t *rows = json_array();
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        json_array_append_new(rows, json_pack("[s, s]", table[i].usage,
                                              table[i].summary));
    json_t *bundle = sm_render_table(headers, rows);
    json_decref(headers);
    json_decref(rows);
    return sm_out_display(call->out, bundle, NULL, NULL);
}

static json_t *settings_table(sm_config *config, const sm_args *only)
{
    json_t *headers = json_pack("[s, s, s]", "setting", "value", "meaning");
    json_t *rows = json_array();
    for (size_t i = 0; i < sm_config_count(); i++) {
        const char *key = sm_config_key(i);
        bool wanted = only->n_positional == 0;
        for (size_t j = 0; j < only->n_positional; j++)
            wanted = wanted || strcmp(only->positional[j], key) == 0;
        if (wanted)
            json_array_append_new(rows, json_pack("[s, s, s]", key,
                                                  sm_config_get(config, key),
                                                  sm_config_describe(i)));
    }
    json_t *bundle = sm_render_table(headers, rows);
    json_decref(headers);
    json_decref(rows);
    return bundle;
}

/* %%config body: one `key = value` per line; blank lines and # comments. */
static int config_body(sm_call *call, sm_config *config)
{
    char *copy = strdup(call->body);
    int rc = 0;
    for (char *save, *line = strtok_r(copy, "\n", &save); !rc && line;
         line = strtok_r(NULL, "\n", &save)) {
        line += strspn(line, " \t");
        if (!*line || *line == '#')
            continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            rc = sm_error_set(&call->err, "expected KEY = VALUE, got '%.60s'", line);
            break;
        }
        char *key_end = eq;
        while (key_end > line && (key_end[-1] == ' ' || key_end[-1] == '\t'))
            key_end--;
        *key_end = '\0';
        char *value = eq + 1 + strspn(eq + 1, " \t");
        for (size_t n = strlen(value); n && strchr(" \t\r", value[n - 1]); n--)
            value[n - 1] = '\0';
        rc = sm_config_set(config, line, value, &call->err);
    }
    free(copy);
    return rc;
}

static int magic_config(sm_call *call)
{
    sm_config *config = sm_magics_config(call->m);
    const sm_args *a = &call->args;
    for (size_t i = 0; i < a->n_positional; i++)
        if (!sm_config_get(config, a->positional[i]))
            return sm_config_set(config, a->positional[i], "", &call->err);
    /* check every pair before setting any, so a bad one changes nothing */
    sm_config *trial = sm_config_new();
    int rc = 0;
    for (size_t i = 0; !rc && i < a->n_pairs; i++)
        rc = sm_config_set(trial, a->pairs[i].key, a->pairs[i].value, &call->err);
    if (!rc && call->body)
        rc = config_body(call, trial);
    sm_config_destroy(&trial);
    if (rc)
        return -1;
    for (size_t i = 0; i < a->n_pairs; i++)
        sm_config_set(config, a->pairs[i].key, a->pairs[i].value, NULL);
    if (call->body)
        config_body(call, config);
    call->result = sm_config_to_json(config);
    call->shown = settings_table(config, a);
    return 0;
}

static int magic_vars(sm_call *call)
{
    json_t *vars = sm_magics_vars(call->m);
    json_t *headers = json_pack("[s, s]", "name", "value");
    json_t *rows = json_array();
    const char *key;
    json_t *value;
    json_object_foreach(vars, key, value) {
        char *text = sm_render_text(value);
        if (text && strlen(text) > 200)
            strcpy(text + 197, "...");
        json_array_append_new(rows, json_pack("[s, s]", key, text ? text : ""));
        free(text);
    }
    int rc;
    if (json_array_size(rows) == 0)
        rc = sm_out_stream(call->out, "stdout", "no variables yet\n");
    else
        rc = sm_out_display(call->out, sm_render_table(headers, rows), NULL, NULL);
    json_decref(headers);
    json_decref(rows);
    return rc;
}

static int magic_echo(sm_call *call)
{
    sm_buf b = {0};
    sm_buf_puts(&b, "");
    for (size_t i = 0; i < call->args.n_positional; i++) {
        if (i)
            sm_buf_putc(&b, ' ');
        sm_buf_puts(&b, call->args.positional[i]);
    }
    if (!sm_args_get(&call->args, "no-newline"))
        sm_buf_putc(&b, '\n');
    const char *stream = sm_args_get(&call->args, "stderr") ? "stderr" : "stdout";
    int rc = sm_out_stream(call->out, stream, sm_buf_str(&b));
    sm_buf_free(&b);
    return rc;
}

static int magic_sleep(sm_call *call)
{
    const char *arg = call->args.positional[0];
    char *end;
    double seconds = strtod(arg, &end);
    if (end == arg || *end || !isfinite(seconds) || seconds < 0 ||
        seconds > 86400)
        return sm_error_set(&call->err, "%%sleep needs a number of seconds "
                                        "between 0 and 86400, not '%s'", arg);
    if (sm_out_wait(call->out, (long)(seconds * 1000)) != 0) {
        call->ename = "KeyboardInterrupt";
        return sm_error_set(&call->err, "interrupted: %%sleep %s stopped early",
                            arg);
    }
    return 0;
}

static int magic_clear(sm_call *call)
{
    return sm_out_clear(call->out, sm_args_get(&call->args, "wait") != NULL);
}
