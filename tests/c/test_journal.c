/* Tests of the experiment journal's file (append, load, a torn last line),
 * how records fold into runs, what is removed from requests, how inputs
 * are compared, and the chart that overlays curves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "journal.h"
#include "render.h"
#include "test.h"

static void temp_path(char *out, size_t size)
{
    snprintf(out, size, "/tmp/sagemagic-journal-test-%ld-XXXXXX",
             (long)getpid());
    int fd = mkstemp(out);
    if (fd >= 0)
        close(fd);
    unlink(out);
}

static int append(const char *path, const char *json)
{
    json_t *rec = json_loads(json, 0, NULL);
    sm_error err = {0};
    int rc = sm_journal_append(path, rec, 1, &err);
    json_decref(rec);
    return rc;
}

TEST(journal_appends_lines_and_loads_them)
{
    char path[128];
    temp_path(path, sizeof path);
    sm_error err = {0};
    size_t skipped = 9;
    json_t *none = sm_journal_load(path, &skipped, &err);
    CHECK(none && json_array_size(none) == 0 && skipped == 0);
    json_decref(none);
    CHECK(append(path, "{\"event\":\"upload\",\"uri\":\"s3://b/k\"}") == 0);
    CHECK(append(path, "{\"event\":\"created\",\"text\":\"a\\nb\"}") == 0);
    FILE *f = fopen(path, "r");
    char line[256];
    int lines = 0;
    while (f && fgets(line, sizeof line, f))
        lines++;
    if (f)
        fclose(f);
    CHECK(lines == 2); /* a newline inside a value stays escaped */
    json_t *records = sm_journal_load(path, &skipped, &err);
    CHECK(records && json_array_size(records) == 2 && skipped == 0);
    CHECK_STR(
        json_string_value(json_object_get(json_array_get(records, 1), "text")),
        "a\nb");
    json_decref(records);
    unlink(path);
}

TEST(journal_skips_a_torn_line_and_starts_the_next_afresh)
{
    char path[128];
    temp_path(path, sizeof path);
    CHECK(append(path, "{\"event\":\"upload\",\"n\":1}") == 0);
    FILE *f = fopen(path, "a");
    CHECK(f != NULL);
    fputs("{\"event\":\"created\",\"na", f); /* a crash mid-line */
    fclose(f);
    CHECK(append(path, "{\"event\":\"upload\",\"n\":2}") == 0);
    size_t skipped = 0;
    sm_error err = {0};
    json_t *records = sm_journal_load(path, &skipped, &err);
    CHECK(records && json_array_size(records) == 2 && skipped == 1);
    CHECK(json_integer_value(
              json_object_get(json_array_get(records, 1), "n")) == 2);
    json_decref(records);
    unlink(path);
}

TEST(journal_appends_unsynced_then_syncs)
{
    char path[128];
    temp_path(path, sizeof path);
    sm_error err = {0};
    CHECK(sm_journal_sync(path, &err) == 0); /* nothing yet: nothing to do */
    json_t *rec = json_pack("{s:s}", "event", "upload");
    CHECK(sm_journal_append(path, rec, 0, &err) == 0);
    CHECK(sm_journal_append(path, rec, 0, &err) == 0);
    json_decref(rec);
    CHECK(sm_journal_sync(path, &err) == 0);
    json_t *records = sm_journal_load(path, NULL, &err);
    CHECK(records && json_array_size(records) == 2);
    json_decref(records);
    unlink(path);
}

TEST(journal_append_fails_with_a_sentence)
{
    sm_error err = {0};
    json_t *rec = json_pack("{s:s}", "event", "upload");
    CHECK(sm_journal_append("/nonexistent-dir/j.jsonl", rec, 1, &err) == -1);
    CHECK(strstr(err.message, "cannot write the journal /nonexistent-dir/"));
    json_decref(rec);
}

TEST(journal_runs_fold_records_by_kind_and_name)
{
    json_t *records = json_loads(
        "[{\"event\":\"upload\",\"uri\":\"s3://b/k\",\"time\":1},"
        " {\"event\":\"created\",\"kind\":\"training\",\"name\":\"a\","
        "  \"status\":\"InProgress\",\"hyperparameters\":{\"eta\":\"0.1\"},"
        "  \"time\":10,\"v\":1},"
        " {\"event\":\"created\",\"kind\":\"endpoint\",\"name\":\"a\","
        "  \"time\":11},"
        " {\"event\":\"finished\",\"kind\":\"training\",\"name\":\"a\","
        "  \"status\":\"Completed\",\"metrics\":{\"m\":0.5},\"time\":20}]",
        0, NULL);
    json_t *runs = sm_journal_runs(records);
    CHECK(json_array_size(runs) == 2);
    json_t *a = json_array_get(runs, 0);
    CHECK_STR(json_string_value(json_object_get(a, "status")), "Completed");
    CHECK_STR(json_string_value(json_object_get(
                  json_object_get(a, "hyperparameters"), "eta")),
              "0.1");
    CHECK(json_real_value(
              json_object_get(json_object_get(a, "metrics"), "m")) == 0.5);
    CHECK(json_integer_value(json_object_get(a, "created")) == 10);
    CHECK(json_integer_value(json_object_get(a, "finished")) == 20);
    CHECK(!json_object_get(a, "event") && !json_object_get(a, "v"));
    /* the later run of a reused name is the one found */
    CHECK_STR(
        json_string_value(json_object_get(sm_journal_find(runs, "a"), "kind")),
        "endpoint");
    CHECK(sm_journal_find(runs, "b") == NULL);
    json_decref(runs);
    json_decref(records);
}

TEST(journal_finds_a_model_only_when_nothing_else_has_its_name)
{
    json_t *records = json_loads(
        "[{\"event\":\"created\",\"kind\":\"training\",\"name\":\"j\","
        "  \"time\":1},"
        " {\"event\":\"created\",\"kind\":\"model\",\"name\":\"j\",\"time\":2},"
        " {\"event\":\"created\",\"kind\":\"endpoint-config\",\"name\":\"e\","
        "  \"time\":3}]",
        0, NULL);
    json_t *runs = sm_journal_runs(records);
    CHECK_STR(
        json_string_value(json_object_get(sm_journal_find(runs, "j"), "kind")),
        "training");
    CHECK_STR(json_string_value(
                  json_object_get(sm_journal_find(runs, "model/j"), "kind")),
              "model");
    CHECK_STR(
        json_string_value(json_object_get(sm_journal_find(runs, "e"), "kind")),
        "endpoint-config");
    CHECK(sm_journal_find(runs, "endpoint/e") == NULL);
    CHECK(sm_journal_find(runs, "train/j") == NULL);
    json_decref(runs);
    json_decref(records);
}

TEST(journal_deletions_written_outside_a_cell_fold_into_runs)
{
    char path[128];
    temp_path(path, sizeof path);
    sm_config *config = sm_config_new();
    sm_error err = {0};
    CHECK(sm_config_set(config, "journal", path, &err) == 0);
    CHECK(append(path, "{\"event\":\"created\",\"kind\":\"endpoint\","
                       "\"name\":\"ep\",\"status\":\"InProgress\","
                       "\"time\":5}") == 0);
    json_t *gone = json_loads("[{\"kind\":\"endpoint\",\"name\":\"ep\"},"
                              " {\"kind\":\"model\",\"name\":\"ep\"}]",
                              0, NULL);
    CHECK(sm_journal_deleted_by_timer(config, "us-east-1", gone, "ttl", &err) ==
          0);
    json_t *records = sm_journal_load(path, NULL, &err);
    CHECK(json_array_size(records) == 3);
    json_t *runs = sm_journal_runs(records);
    const json_t *ep = sm_journal_find(runs, "endpoint/ep");
    CHECK_STR(json_string_value(json_object_get(ep, "status")), "Deleted");
    CHECK_STR(json_string_value(json_object_get(ep, "deleted_by")), "ttl");
    CHECK_STR(json_string_value(json_object_get(ep, "region")), "us-east-1");
    CHECK(json_number_value(json_object_get(ep, "deleted")) >
          json_number_value(json_object_get(ep, "created")));
    CHECK_STR(json_string_value(
                  json_object_get(sm_journal_find(runs, "model/ep"), "status")),
              "Deleted");
    /* a journal that is off takes nothing, and says nothing went wrong */
    CHECK(sm_config_set(config, "journal", "off", &err) == 0);
    CHECK(sm_journal_deleted_by_timer(config, "us-east-1", gone, "ttl", &err) ==
          0);
    json_decref(runs);
    json_decref(records);
    records = sm_journal_load(path, NULL, &err);
    CHECK(json_array_size(records) == 3);
    json_decref(records);
    json_decref(gone);
    sm_config_destroy(&config);
    unlink(path);
}

TEST(journal_redact_removes_secret_members)
{
    json_t *req = json_loads(
        "{\"TrainingJobName\":\"j\",\"Environment\":{\"DB_PASSWORD\":\"p\","
        "\"MODE\":\"fast\",\"AWS_SECRET_ACCESS_KEY\":\"s\"},"
        "\"Items\":[{\"SessionToken\":\"t\",\"Keep\":1}],"
        "\"HyperParameters\":{\"eta\":\"0.2\"}}",
        0, NULL);
    json_t *copy = sm_journal_redact(req);
    json_t *env = json_object_get(copy, "Environment");
    CHECK_STR(json_string_value(json_object_get(env, "DB_PASSWORD")),
              "(removed)");
    CHECK_STR(json_string_value(json_object_get(env, "AWS_SECRET_ACCESS_KEY")),
              "(removed)");
    CHECK_STR(json_string_value(json_object_get(env, "MODE")), "fast");
    json_t *item = json_array_get(json_object_get(copy, "Items"), 0);
    CHECK_STR(json_string_value(json_object_get(item, "SessionToken")),
              "(removed)");
    CHECK(json_integer_value(json_object_get(item, "Keep")) == 1);
    CHECK(json_equal(json_object_get(copy, "HyperParameters"),
                     json_object_get(req, "HyperParameters")));
    /* the original is untouched */
    CHECK_STR(json_string_value(json_object_get(
                  json_object_get(req, "Environment"), "DB_PASSWORD")),
              "p");
    json_decref(copy);
    json_decref(req);
}

static json_t *inputs(const char *etag, const char *digest, const char *extra)
{
    char text[1024];
    snprintf(text, sizeof text,
             "[{\"channel\":\"train\",\"uri\":\"s3://b/d/\",\"digest\":\"%s\","
             "\"count\":2,\"objects\":[{\"key\":\"d/a.csv\",\"size\":10,"
             "\"etag\":\"%s\"}%s]}]",
             digest, etag, extra);
    return json_loads(text, 0, NULL);
}

TEST(journal_inputs_compare_object_by_object)
{
    json_t *was = inputs("e1", "d1",
                         ",{\"key\":\"d/b.csv\",\"size\":5,"
                         "\"etag\":\"e2\"}");
    json_t *same = inputs("e1", "d1",
                          ",{\"key\":\"d/b.csv\",\"size\":5,"
                          "\"etag\":\"e2\"}");
    json_t *changed = inputs("e9", "d2",
                             ",{\"key\":\"d/c.csv\",\"size\":5,"
                             "\"etag\":\"e3\"}");
    CHECK(was && same && changed);
    sm_buf why = {0};
    CHECK(sm_journal_inputs_differ(was, same, &why) == 0);
    CHECK_STR(sm_buf_str(&why), "");
    CHECK(sm_journal_inputs_differ(was, changed, &why) == -1);
    CHECK(strstr(sm_buf_str(&why), "d/a.csv changed: 10 bytes with ETag e1 "
                                   "then, 10 bytes with ETag e9 now"));
    CHECK(strstr(sm_buf_str(&why), "s3://b/d/ is gone (key d/b.csv)"));
    CHECK(strstr(sm_buf_str(&why), "d/c.csv is new under s3://b/d/"));
    sm_buf_free(&why);
    json_t *unreadable =
        json_loads("[{\"channel\":\"train\",\"uri\":"
                   "\"s3://b/d/\",\"error\":\"NoSuchBucket\"}]",
                   0, NULL);
    CHECK(sm_journal_inputs_differ(was, unreadable, &why) == -1);
    CHECK(strstr(sm_buf_str(&why), "cannot be read now: NoSuchBucket"));
    sm_buf_free(&why);
    json_decref(unreadable);
    json_decref(was);
    json_decref(same);
    json_decref(changed);
}

TEST(journal_inputs_spell_out_five_differences_and_count_the_rest)
{
    json_t *was = inputs("e1", "d1", ""), *now = inputs("e1", "d2", "");
    CHECK(was && now);
    json_t *objects = json_object_get(json_array_get(now, 0), "objects");
    for (int i = 0; i < 8; i++) {
        char key[32];
        snprintf(key, sizeof key, "d/new-%d.csv", i);
        json_array_append_new(objects, json_pack("{s:s, s:i, s:s}", "key", key,
                                                 "size", 1, "etag", "e"));
    }
    sm_buf why = {0};
    CHECK(sm_journal_inputs_differ(was, now, &why) == -1);
    CHECK(strstr(sm_buf_str(&why), "d/new-4.csv is new"));
    CHECK(!strstr(sm_buf_str(&why), "d/new-5.csv"));
    CHECK(strstr(sm_buf_str(&why), "; and 3 more differences"));
    sm_buf_free(&why);
    json_decref(was);
    json_decref(now);
}

TEST(render_curves_draws_a_line_per_label)
{
    json_t *lines = json_loads("{\"job-a <train>\":[[0,1.0],[1,0.5],[2,0.25]],"
                               "\"job-b validation\":[[0,1.2],[1,0.7]]}",
                               0, NULL);
    json_t *chart = sm_render_curves("cmp", "rmse", lines);
    CHECK(chart != NULL);
    const char *svg =
        json_string_value(json_object_get(chart, "image/svg+xml"));
    CHECK(svg && strstr(svg, "<svg ") == svg);
    CHECK(strstr(svg, "rmse per round"));
    size_t n = 0;
    for (const char *p = svg; (p = strstr(p, "<polyline")); p++)
        n++;
    CHECK(n == 2);
    CHECK(strstr(svg, "job-a &lt;train&gt;")); /* labels escaped */
    CHECK(strstr(svg, "job-b validation"));
    CHECK_STR(json_string_value(json_object_get(chart, "text/plain")),
              "cmp: rmse per round (job-a <train>: 3 rounds, last 0.25; "
              "job-b validation: 2 rounds, last 0.7)");
    json_decref(chart);
    json_t *empty = json_loads("{\"a\":[]}", 0, NULL);
    CHECK(sm_render_curves(NULL, "rmse", empty) == NULL);
    json_decref(empty);
    json_decref(lines);
}
