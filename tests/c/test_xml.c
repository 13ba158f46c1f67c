/* test_xml: the XML reader on S3 and STS responses, odd but valid input,
 * and malformed input that must fail cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "xml.h"

static sm_xml_node *parse(const char *s, sm_error *err)
{
    sm_error_clear(err);
    return sm_xml_parse(s, strlen(s), err);
}

TEST(xml_s3_list_objects)
{
    const char *doc =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Name>bucket</Name><KeyCount>2</KeyCount>"
        "<Contents><Key>a&amp;b.csv</Key><Size>10</Size></Contents>"
        "<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes>"
        "<Contents><Key>c &lt;d&gt;.csv</Key><Size>20</Size></Contents>"
        "</ListBucketResult>";
    sm_error err;
    sm_xml_node *root = parse(doc, &err);
    CHECK(root);
    CHECK_STR(sm_xml_name(root), "ListBucketResult");
    CHECK_STR(sm_xml_child_text(root, "Name"), "bucket");
    const sm_xml_node *c = sm_xml_child(root, "Contents");
    CHECK_STR(sm_xml_child_text(c, "Key"), "a&b.csv");
    c = sm_xml_next(c);
    CHECK_STR(sm_xml_child_text(c, "Key"), "c <d>.csv");
    CHECK_STR(sm_xml_child_text(c, "Size"), "20");
    CHECK(sm_xml_next(c) == NULL);
    int n = 0;
    for (const sm_xml_node *k = sm_xml_first_child(root); k;
         k = sm_xml_next_sibling(k))
        n++;
    CHECK(n == 5);
    CHECK_STR(sm_xml_text(sm_xml_path(root, "CommonPrefixes/Prefix")), "p/");
    CHECK(sm_xml_path(root, "CommonPrefixes/Nope") == NULL);
    CHECK(sm_xml_child_text(root, "Missing") == NULL);
    sm_xml_free(&root);
    CHECK(root == NULL);
}

TEST(xml_sts_error_and_identity)
{
    const char *doc =
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
        "  <Error>\n    <Type>Sender</Type>\n"
        "    <Code>InvalidClientTokenId</Code>\n"
        "    <Message>The security token included in the request is "
        "invalid.</Message>\n  </Error>\n"
        "  <RequestId>4f6c-11</RequestId>\n</ErrorResponse>\n";
    sm_error err;
    sm_xml_node *root = parse(doc, &err);
    CHECK(root);
    CHECK_STR(sm_xml_text(sm_xml_path(root, "Error/Code")),
              "InvalidClientTokenId");
    CHECK_STR(sm_xml_child_text(root, "RequestId"), "4f6c-11");
    sm_xml_free(&root);

    root = parse("<GetCallerIdentityResponse><GetCallerIdentityResult>"
                 "<Arn>arn:aws:iam::123456789012:user/x</Arn>"
                 "<UserId>AIDA</UserId><Account>123456789012</Account>"
                 "</GetCallerIdentityResult></GetCallerIdentityResponse>",
                 &err);
    CHECK(root);
    CHECK_STR(sm_xml_text(sm_xml_path(root, "GetCallerIdentityResult/Account")),
              "123456789012");
    sm_xml_free(&root);
}

TEST(xml_entities_cdata_refs)
{
    sm_error err;
    sm_xml_node *root =
        parse("<a>&lt;&gt;&amp;&quot;&apos;|&#65;&#x42;&#xe9;&#x1F600;|"
              "<![CDATA[<raw & \"kept\">]]>|<!-- c --><?pi x?>end</a>",
              &err);
    CHECK(root);
    CHECK_STR(sm_xml_text(root),
              "<>&\"'|AB\xC3\xA9\xF0\x9F\x98\x80|<raw & \"kept\">|end");
    sm_xml_free(&root);
}

TEST(xml_namespaces_attributes_whitespace)
{
    sm_error err;
    sm_xml_node *root =
        parse("\xEF\xBB\xBF<?xml version='1.0'?>\r\n<!-- lead -->"
              "<s3:Root xmlns:s3=\"u\" a='1>2' b = \"x\">"
              "<s3:Key attr=\"v\">  spaced  </s3:Key>"
              "<Empty/><Empty2 x='y' />"
              "<Multi>line1\r\nline2\rline3</Multi>"
              "</s3:Root >\n<!-- trail -->\n",
              &err);
    CHECK(root);
    CHECK_STR(sm_xml_name(root), "Root");
    CHECK_STR(sm_xml_child_text(root, "Key"), "  spaced  ");
    CHECK_STR(sm_xml_child_text(root, "Empty"), "");
    CHECK_STR(sm_xml_child_text(root, "Empty2"), "");
    CHECK_STR(sm_xml_child_text(root, "Multi"), "line1\nline2\nline3");
    sm_xml_free(&root);
}

TEST(xml_malformed_inputs_fail)
{
    static const char *bad[] = {
        "",
        "   ",
        "text only",
        "<a>",
        "<a></b>",
        "<a><b></a></b>",
        "</a>",
        "<a></a><b></b>",
        "<a></a>junk",
        "<a>&unknown;</a>",
        "<a>&amp</a>",
        "<a>&#0;</a>",
        "<a>&#xD800;</a>",
        "<a>&#x110000;</a>",
        "<a>&#12a;</a>",
        "<a>&#;</a>",
        "<a><![CDATA[open</a>",
        "<a><!-- open</a>",
        "<a b=\"open></a>",
        "<a b=c></a>",
        "<a b></a>",
        "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
        "<1a></1a>",
        "<>",
        "<a",
        "<a/",
        "<a></a",
        "x<a></a>",
        "<![CDATA[x]]><a/>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sm_error err;
        sm_xml_node *root = parse(bad[i], &err);
        if (root) {
            printf("    accepted: %s\n", bad[i]);
            sm_xml_free(&root);
        }
        CHECK(root == NULL);
        CHECK(err.message[0] != '\0');
    }
}

TEST(xml_nul_and_truncation_never_crash)
{
    const char doc[] = "<a><b>x&amp;y</b><c q='1'/><![CDATA[z]]></a>";
    size_t n = sizeof doc - 1;
    sm_error err;
    /* Every prefix but the whole is malformed. */
    for (size_t i = 0; i < n; i++) {
        char *copy = malloc(i ? i : 1); /* exact size: ASan sees overreads */
        memcpy(copy, doc, i);
        sm_error_clear(&err);
        sm_xml_node *root = sm_xml_parse(copy, i, &err);
        CHECK(root == NULL);
        free(copy);
    }
    sm_error_clear(&err);
    sm_xml_node *root = sm_xml_parse(doc, n, &err);
    CHECK(root);
    sm_xml_free(&root);
    char with_nul[] = "<a>x\0y</a>";
    sm_error_clear(&err);
    CHECK(sm_xml_parse(with_nul, sizeof with_nul - 1, &err) == NULL);
    CHECK(sm_xml_parse(NULL, 0, &err) == NULL);
}

TEST(xml_depth_limit)
{
    char doc[4096] = "";
    for (int i = 0; i < SM_XML_MAX_DEPTH; i++)
        strcat(doc, "<d>");
    for (int i = 0; i < SM_XML_MAX_DEPTH; i++)
        strcat(doc, "</d>");
    sm_error err;
    sm_xml_node *root = parse(doc, &err);
    CHECK(root);
    sm_xml_free(&root);
    char deeper[4096] = "<e>";
    strcat(deeper, doc);
    strcat(deeper, "</e>");
    root = parse(deeper, &err);
    CHECK(root == NULL);
    CHECK(strstr(err.message, "deeper"));
}

TEST(xml_escape)
{
    char *s = sm_xml_escape("a&b<c>d\"e'f\rg\n");
    CHECK_STR(s, "a&amp;b&lt;c&gt;d&quot;e&apos;f&#13;g\n");
    free(s);
    s = sm_xml_escape("");
    CHECK_STR(s, "");
    free(s);
    CHECK(sm_xml_escape(NULL) == NULL);
    /* What we escape reads back the same. */
    const char *key = "dir/ä & <x> \"q\" 'a'\r\n";
    char *esc = sm_xml_escape(key);
    char doc[256];
    snprintf(doc, sizeof doc, "<Key>%s</Key>", esc);
    free(esc);
    sm_error err;
    sm_xml_node *root = parse(doc, &err);
    CHECK(root);
    CHECK_STR(sm_xml_text(root), key);
    sm_xml_free(&root);
}
