/* test_render: aligned plain-text tables (counting code points), HTML
 * escaping, and how values show as text. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "magic.h"
#include "render.h"
#include "test.h"

/* The bundle's `mime` text for a table given as JSON texts; caller frees. */
static char *table(const char *headers, const char *rows, const char *mime)
{
    json_t *h = json_loads(headers, 0, NULL), *r = json_loads(rows, 0, NULL);
    json_t *bundle = sm_render_table(h, r);
    const char *text = json_string_value(json_object_get(bundle, mime));
    char *copy = text ? strdup(text) : NULL;
    json_decref(bundle);
    json_decref(h);
    json_decref(r);
    return copy;
}

#define CHECK_TABLE(headers, rows, mime, want)                                 \
    do {                                                                       \
        char *got_ = table(headers, rows, mime);                               \
        int same_ = got_ && strcmp(got_, want) == 0;                           \
        if (!same_)                                                            \
            test_fail_str(__FILE__, __LINE__, headers " " rows, got_, want);   \
        free(got_);                                                            \
        if (!same_)                                                            \
            return;                                                            \
    } while (0)

TEST(render_table_plain_alignment)
{
    CHECK_TABLE("[\"name\",\"status\",\"time\"]",
                "[[\"job-1\",\"Completed\",\"12s\"],[\"j2\",\"InProgress\","
                "\"3s\"]]",
                "text/plain",
                "name   status      time\n"
                "job-1  Completed   12s\n"
                "j2     InProgress  3s\n");
}

TEST(render_table_plain_unicode_widths)
{
    /* Columns are counted in code points, not bytes: "été" is 3 wide. */
    CHECK_TABLE("[\"mot\",\"n\"]",
                "[[\"\xC3\xA9t\xC3\xA9\",\"1\"],[\"\xE2\x82\xAC\",\"2\"],"
                "[\"caf\xC3\xA9s\",\"3\"]]",
                "text/plain",
                "mot    n\n"
                "\xC3\xA9t\xC3\xA9    1\n"
                "\xE2\x82\xAC      2\n"
                "caf\xC3\xA9s  3\n");
}

TEST(render_table_plain_short_rows_and_trailing_space)
{
    /* Missing and non-string cells are empty; no line ends in spaces. */
    CHECK_TABLE("[\"a\",\"b\",\"c\"]", "[[\"x\"],[\"yy\",5,\"z\"],[]]",
                "text/plain",
                "a   b  c\n"
                "x\n"
                "yy     z\n"
                "\n");
    CHECK_TABLE("[\"only\"]", "[]", "text/plain", "only\n");
}

TEST(render_table_html)
{
    CHECK_TABLE("[\"a<b\"]", "[[\"x & \\\"y\\\" 'z'\"]]", "text/html",
                "<table style=\"border-collapse:collapse;color:var(--jp-"
                "content-font-color1,inherit);font-size:var(--jp-code-"
                "font-size,13px)\"><thead><tr>"
                "<th style=\"text-align:left;padding:2px 10px;border-bottom:"
                "1px solid var(--jp-border-color2,#ddd)\">a&lt;b</th>"
                "</tr></thead><tbody><tr>"
                "<td style=\"text-align:left;padding:2px 10px;border-bottom:"
                "1px solid var(--jp-border-color2,#ddd)\">"
                "x &amp; &quot;y&quot; &#39;z&#39;</td>"
                "</tr></tbody></table>");
}

TEST(render_table_non_string_headers)
{
    /* A header that is not a string shows as an empty cell. */
    CHECK_TABLE("[\"a\",7,\"c\"]", "[[\"1\",\"2\",\"3\"]]", "text/plain",
                "a     c\n"
                "1  2  3\n");
    char *html = table("[null]", "[[\"v\"]]", "text/html");
    CHECK(html && strstr(html, "\"></th>"));
    free(html);
}

TEST(render_html_escape)
{
    char *s = sm_html_escape("<script>alert('x') && \"y\"</script>");
    CHECK_STR(s, "&lt;script&gt;alert(&#39;x&#39;) &amp;&amp; "
                 "&quot;y&quot;&lt;/script&gt;");
    free(s);
    s = sm_html_escape("");
    CHECK_STR(s, "");
    free(s);
    s = sm_html_escape("caf\xC3\xA9 &amp;");
    CHECK_STR(s, "caf\xC3\xA9 &amp;amp;");
    free(s);
}

TEST(render_text_of_values)
{
    json_t *v = json_string("as is\n");
    char *s = sm_render_text(v);
    CHECK_STR(s, "as is\n");
    free(s);
    json_decref(v);
    v = json_integer(42);
    s = sm_render_text(v);
    CHECK_STR(s, "42");
    free(s);
    json_decref(v);
    s = sm_render_text(json_true());
    CHECK_STR(s, "true");
    free(s);
    s = sm_render_text(json_null());
    CHECK_STR(s, "");
    free(s);
    s = sm_render_text(NULL);
    CHECK_STR(s, "");
    free(s);
    v = json_pack("{s:i, s:[i]}", "a", 1, "b", 2);
    s = sm_render_text(v);
    CHECK_STR(s, "{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}");
    free(s);
    json_decref(v);
}

TEST(render_value_bundle)
{
    json_t *v = json_real(0.5);
    json_t *bundle = sm_render_value(v);
    CHECK(json_object_size(bundle) == 1);
    CHECK_STR(json_string_value(json_object_get(bundle, "text/plain")), "0.5");
    json_decref(bundle);
    json_decref(v);
}

TEST(render_text_of_reals_shortest)
{
    /* what an endpoint said, not %.17g's 0.20999999999999999 */
    json_t *v = json_real(0.21);
    char *s = sm_render_text(v);
    CHECK_STR(s, "0.21");
    free(s);
    json_decref(v);
    v = json_pack("[f, f, f]", 0.5, 0.21, 0.123456789);
    s = sm_render_text(v);
    CHECK_STR(s, "[\n  0.5,\n  0.21,\n  0.123456789\n]");
    free(s);
    json_decref(v);
    /* a number that needs all 17 digits keeps them */
    v = json_real(0.1 + 0.2);
    s = sm_render_text(v);
    CHECK_STR(s, "0.30000000000000004");
    free(s);
    json_decref(v);
    v = json_pack("{s:[f]}", "p", 0.9876543);
    s = sm_render_text(v);
    CHECK_STR(s, "{\n  \"p\": [\n    0.9876543\n  ]\n}");
    free(s);
    json_decref(v);
}
