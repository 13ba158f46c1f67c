/* Console links for what the magics create on the aws backend. */
#include <string.h>

#include "console.h"
#include "test.h"

TEST(console_sagemaker_pages)
{
    char url[512];
    CHECK(sm_console_sagemaker_url("training-job", "eu-west-1", "xgb-1", url,
                                   sizeof url) == 0);
    CHECK_STR(url, "https://eu-west-1.console.aws.amazon.com/sagemaker/home"
                   "?region=eu-west-1#/jobs/xgb-1");
    CHECK(sm_console_sagemaker_url("endpoint", "us-east-1", "ep", url,
                                   sizeof url) == 0);
    CHECK_STR(url, "https://us-east-1.console.aws.amazon.com/sagemaker/home"
                   "?region=us-east-1#/endpoints/ep");
    CHECK(sm_console_sagemaker_url("tuning-job", "cn-north-1", "t", url,
                                   sizeof url) == 0);
    CHECK_STR(url, "https://cn-north-1.console.amazonaws.cn/sagemaker/home"
                   "?region=cn-north-1#/hyper-tuning-jobs/t");
    CHECK(sm_console_sagemaker_url("transform-job", "us-gov-west-1", "b", url,
                                   sizeof url) == 0);
    CHECK(strstr(url, "console.amazonaws-us-gov.com") != NULL);
    /* names are encoded; unknown kinds and short buffers are refused */
    CHECK(sm_console_sagemaker_url("model", "us-east-1", "a b", url,
                                   sizeof url) == 0);
    CHECK(strstr(url, "#/models/a%20b") != NULL);
    CHECK(sm_console_sagemaker_url("notebook", "us-east-1", "x", url,
                                   sizeof url) == -1);
    CHECK_STR(url, "");
    CHECK(sm_console_sagemaker_url("model", "us-east-1", "x", url, 20) == -1);
    CHECK_STR(url, "");
}

TEST(console_log_stream_page)
{
    char url[512];
    CHECK(sm_console_log_stream_url("us-east-1", "/aws/sagemaker/TrainingJobs",
                                    "job-1/algo-1-1700000000", url,
                                    sizeof url) == 0);
    CHECK_STR(url, "https://us-east-1.console.aws.amazon.com/cloudwatch/home"
                   "?region=us-east-1#logsV2:log-groups/log-group/"
                   "$252Faws$252Fsagemaker$252FTrainingJobs/log-events/"
                   "job-1$252Falgo-1-1700000000");
}
