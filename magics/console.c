/* console: AWS Management Console links. The console's host depends on the
 * partition of the region (aws, aws-cn, aws-us-gov); SageMaker's pages
 * are fragments under /sagemaker/home, CloudWatch's log pages encode each
 * path segment twice over with '$' in place of '%'. */
#include "console.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"

static const char *console_host(const char *region)
{
    if (strncmp(region, "cn-", 3) == 0)
        return "console.amazonaws.cn";
    if (strncmp(region, "us-gov-", 7) == 0)
        return "console.amazonaws-us-gov.com";
    return "console.aws.amazon.com";
}

/* The fragment path of each kind on SageMaker's console. */
static const struct {
    const char *kind, *page;
} PAGES[] = {
    {"training-job", "jobs"},
    {"transform-job", "transform-jobs"},
    {"tuning-job", "hyper-tuning-jobs"},
    {"endpoint", "endpoints"},
    {"endpoint-config", "endpointConfig"},
    {"model", "models"},
};

/* Percent-encode `text` but for RFC 3986's unreserved characters. */
static int encode(sm_buf *b, const char *text, const char *percent)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~", *p))
            rc |= sm_buf_putc(b, (char)*p);
        else
            rc |=
                sm_buf_printf(b, "%s%c%c", percent, hex[*p >> 4], hex[*p & 15]);
    }
    return rc;
}

/* out[size] gets the link when it was built whole and fits. */
static int finish(sm_buf *b, int rc, char *out, size_t size)
{
    int fits = !rc && b->len < size;
    snprintf(out, size, "%s", fits ? sm_buf_str(b) : "");
    sm_buf_free(b);
    return fits ? 0 : -1;
}

int sm_console_sagemaker_url(const char *kind, const char *region,
                             const char *name, char *out, size_t size)
{
    const char *page = NULL;
    for (size_t i = 0; i < sizeof PAGES / sizeof PAGES[0]; i++) {
        if (strcmp(kind, PAGES[i].kind) == 0)
            page = PAGES[i].page;
    }
    if (size)
        out[0] = '\0';
    if (!page)
        return -1;
    sm_buf b = {0};
    int rc = sm_buf_printf(&b, "https://%s.%s/sagemaker/home?region=", region,
                           console_host(region));
    rc |= encode(&b, region, "%");
    rc |= sm_buf_printf(&b, "#/%s/", page);
    rc |= encode(&b, name, "%");
    return finish(&b, rc, out, size);
}

int sm_console_log_stream_url(const char *region, const char *group,
                              const char *stream, char *out, size_t size)
{
    sm_buf b = {0};
    int rc = sm_buf_printf(&b, "https://%s.%s/cloudwatch/home?region=", region,
                           console_host(region));
    rc |= encode(&b, region, "%");
    /* "/aws/x" is "%2Faws%2Fx" in the page's path, whose '%' are written
     * "$25": "$252Faws$252Fx" */
    rc |= sm_buf_puts(&b, "#logsV2:log-groups/log-group/");
    rc |= encode(&b, group, "$25");
    rc |= sm_buf_puts(&b, "/log-events/");
    rc |= encode(&b, stream, "$25");
    return finish(&b, rc, out, size);
}
