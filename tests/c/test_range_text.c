/* test_range_text: tuning ranges written as the command language writes
 * them (sm_sagemaker_range_parse), and that the parsed ranges build the
 * request the service wants. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sagemaker_training.h"
#include "test.h"

TEST(range_text_continuous_integer_and_scales)
{
    sm_sagemaker_range_text t;
    sm_error err = {""};
    CHECK(sm_sagemaker_range_parse("eta=0.01..0.3", &t, &err) == 0);
    CHECK(t.range.type == SM_SAGEMAKER_RANGE_CONTINUOUS);
    CHECK_STR(t.range.name, "eta");
    CHECK_STR(t.range.min, "0.01");
    CHECK_STR(t.range.max, "0.3");
    CHECK(t.range.scaling == NULL);
    sm_sagemaker_range_text_clear(&t);

    CHECK(sm_sagemaker_range_parse("max_depth=3..10:int", &t, &err) == 0);
    CHECK(t.range.type == SM_SAGEMAKER_RANGE_INTEGER);
    CHECK_STR(t.range.min, "3");
    CHECK_STR(t.range.max, "10");
    sm_sagemaker_range_text_clear(&t);

    CHECK(sm_sagemaker_range_parse("alpha=.001..10:LOG", &t, &err) == 0);
    CHECK(t.range.type == SM_SAGEMAKER_RANGE_CONTINUOUS);
    CHECK_STR(t.range.min, ".001");
    CHECK_STR(t.range.scaling, "Logarithmic");
    sm_sagemaker_range_text_clear(&t);

    CHECK(sm_sagemaker_range_parse("n=1..1000:int:log", &t, &err) == 0);
    CHECK(t.range.type == SM_SAGEMAKER_RANGE_INTEGER);
    CHECK_STR(t.range.max, "1000");
    CHECK_STR(t.range.scaling, "Logarithmic");
    sm_sagemaker_range_text_clear(&t);

    CHECK(sm_sagemaker_range_parse("m=0.9..0.999:reverse-log", &t, &err) == 0);
    CHECK_STR(t.range.scaling, "ReverseLogarithmic");
    sm_sagemaker_range_text_clear(&t);
    CHECK_STR(err.message, "");
}

TEST(range_text_categorical)
{
    sm_sagemaker_range_text t;
    sm_error err = {""};
    CHECK(sm_sagemaker_range_parse("booster=gbtree|dart|gblinear", &t, &err) ==
          0);
    CHECK(t.range.type == SM_SAGEMAKER_RANGE_CATEGORICAL);
    CHECK_STR(t.range.name, "booster");
    CHECK(t.range.value_count == 3);
    CHECK_STR(t.range.values[0], "gbtree");
    CHECK_STR(t.range.values[2], "gblinear");
    sm_sagemaker_range_text_clear(&t);
    CHECK(t.copy == NULL && t.values == NULL);
}

TEST(range_text_mistakes_say_what_to_write)
{
    static const struct {
        const char *text, *message;
    } cases[] = {
        {"eta", "'eta' is not a range; write NAME=MIN..MAX or NAME=A|B."},
        {"=1..2", "'=1..2' is not a range; write NAME=MIN..MAX or NAME=A|B."},
        {"eta=0.1", "The range of 'eta' is neither MIN..MAX nor a list A|B."},
        {"eta=..3", "The range of 'eta' needs a minimum and a maximum: "
                    "MIN..MAX."},
        {"eta=1..", "The range of 'eta' needs a minimum and a maximum: "
                    "MIN..MAX."},
        {"eta=1..2:cubic", "The range of 'eta' ends in ':cubic'; it may end "
                           "in :int, :log, :linear, :auto or :reverse-log."},
        {"b=x||y", "The range of 'b' has an empty value."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sm_sagemaker_range_text t;
        sm_error err = {""};
        CHECK(sm_sagemaker_range_parse(cases[i].text, &t, &err) == -1);
        CHECK_STR(err.message, cases[i].message);
        sm_sagemaker_range_text_clear(&t);
    }
}

/* Parsed ranges go through the request builder as typed ones do. */
TEST(range_text_builds_the_parameter_ranges)
{
    const char *texts[] = {"eta=0.1..0.5:log", "max_depth=3..9:int",
                           "booster=gbtree|dart"};
    sm_sagemaker_range_text t[3];
    sm_sagemaker_range ranges[3];
    sm_error err = {""};
    for (size_t i = 0; i < 3; i++) {
        CHECK(sm_sagemaker_range_parse(texts[i], &t[i], &err) == 0);
        ranges[i] = t[i].range;
    }
    sm_sagemaker_channel train = {.name = "train", .s3_uri = "s3://b/t/"};
    sm_sagemaker_tuning_job_spec spec = {
        .name = "tune-1",
        .objective_metric = "validation:auc",
        .objective_type = "Maximize",
        .max_jobs = 4,
        .max_parallel = 2,
        .ranges = ranges,
        .range_count = 3,
        .training = {.image = "img",
                     .role_arn = "arn:aws:iam::123456789012:role/R",
                     .channels = &train,
                     .channel_count = 1,
                     .output_path = "s3://b/o/",
                     .resources = {.instance_type = "ml.m5.large"}},
    };
    json_t *req = sm_sagemaker_create_tuning_job_request(&spec, &err);
    for (size_t i = 0; i < 3; i++)
        sm_sagemaker_range_text_clear(&t[i]);
    CHECK(req);
    json_t *pr =
        json_object_get(json_object_get(req, "HyperParameterTuningJobConfig"),
                        "ParameterRanges");
    char *got = json_dumps(pr, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(req);
    CHECK_STR(got, "{\"CategoricalParameterRanges\":[{\"Name\":\"booster\","
                   "\"Values\":[\"gbtree\",\"dart\"]}],"
                   "\"ContinuousParameterRanges\":[{\"MaxValue\":\"0.5\","
                   "\"MinValue\":\"0.1\",\"Name\":\"eta\","
                   "\"ScalingType\":\"Logarithmic\"}],"
                   "\"IntegerParameterRanges\":[{\"MaxValue\":\"9\","
                   "\"MinValue\":\"3\",\"Name\":\"max_depth\"}]}");
    free(got);
}
