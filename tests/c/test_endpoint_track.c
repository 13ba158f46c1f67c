/* test_endpoint_track: the list of a kernel's endpoints (add, replace,
 * forget, list), how their parts are named for a question, and the price
 * table. The timer and deleting are covered by test_magics_deploy.py. */
#include <jansson.h>
#include <string.h>

#include "config.h"
#include "endpoint_track.h"
#include "prices.h"
#include "test.h"

TEST(tracker_adds_replaces_and_forgets)
{
    sm_tracker *t = sm_tracker_new();
    sm_config *c = sm_config_new();
    CHECK(t && c);
    CHECK(sm_tracker_add(t, "a", "a", "a", c, 0) == 0);
    CHECK(sm_tracker_add(t, "b", "b-config", "", c, 0) == 0);
    CHECK(sm_tracker_add(t, "a", "a2", "a2", c, 0) == 0); /* newer wins */
    CHECK(sm_tracker_knows(t, "a") && sm_tracker_knows(t, "b"));
    CHECK(!sm_tracker_knows(t, "c"));
    json_t *list = sm_tracker_list(t);
    CHECK(json_array_size(list) == 2);
    CHECK_STR(
        json_string_value(json_object_get(json_array_get(list, 0), "endpoint")),
        "b");
    CHECK_STR(
        json_string_value(json_object_get(json_array_get(list, 1), "config")),
        "a2");
    json_decref(list);
    sm_tracker_forget(t, "a");
    sm_tracker_forget(t, "not-there");
    CHECK(!sm_tracker_knows(t, "a") && sm_tracker_knows(t, "b"));
    sm_config_destroy(&c);
    sm_tracker_destroy(&t);
    CHECK(t == NULL);
}

TEST(tracker_timer_stops_with_it)
{
    /* a time to live far away starts the timer; destroying joins it */
    sm_tracker *t = sm_tracker_new();
    sm_config *c = sm_config_new();
    CHECK(sm_tracker_add(t, "later", "later", "later", c, 4e9) == 0);
    sm_config_destroy(&c);
    sm_tracker_destroy(&t);
    CHECK(t == NULL);
}

TEST(endpoint_parts_read_as_a_list)
{
    sm_endpoint_parts p = {.exists = 1,
                           .name = "ep",
                           .config = "ep-config",
                           .models = json_pack("[s, s]", "m1", "m2")};
    sm_buf b = {0};
    sm_endpoint_parts_describe(&p, &b);
    CHECK_STR(sm_buf_str(&b), "endpoint ep, endpoint config ep-config, model "
                              "m1 and model m2");
    json_decref(p.models);
    p.models = json_array();
    b.len = 0;
    sm_endpoint_parts_describe(&p, &b);
    CHECK_STR(sm_buf_str(&b), "endpoint ep and endpoint config ep-config");
    json_decref(p.models);
    sm_buf_free(&b);
}

TEST(prices_know_common_types_only)
{
    CHECK(sm_price_per_hour("ml.m5.large") > 0.1 &&
          sm_price_per_hour("ml.m5.large") < 0.2);
    CHECK(sm_price_per_hour("ml.m5.xlarge") > sm_price_per_hour("ml.m5.large"));
    CHECK(sm_price_per_hour("ml.nonsense.large") < 0);
    CHECK(sm_price_per_hour(NULL) < 0);
    CHECK(strlen(SM_PRICES_DATE) == 10);
}
