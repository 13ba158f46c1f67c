/* aws_error: read the error response of any AWS protocol (awsJson,
 * rest-json, rest-xml, query) into an sm_aws_error. */
#ifndef SM_AWS_ERROR_H
#define SM_AWS_ERROR_H

#include <stddef.h>

#include "aws.h"
#include "endpoint.h"

/* Fill err's http_status, code, message and request_id from `resp`
 * (borrowed); service and operation are left as they are.
 *   awsJson: "__type" (or "code"), cut at the first ':' and after the
 *     last '#'; "message" or "Message".
 *   rest-json: the x-amzn-ErrorType header first, then the body as above.
 *   rest-xml and query: <Error><Code>, <Message>, <RequestId>, at the root
 *     (S3) or under it (STS's <ErrorResponse>).
 *   No code found: an empty body (S3 HEAD) gives a name for the status
 *     (404 NotFound, 403 Forbidden, ...), anything else (an HTML 502 from
 *     a proxy) the status number; the message is the status's reason.
 * The request id comes from x-amzn-RequestId or x-amz-request-id, else
 * from the body. Text is cut to fit at a UTF-8 character boundary. */
void sm_aws_error_from_response(sm_aws_protocol protocol,
                                const sm_aws_response *resp, sm_aws_error *err);

/* Copy `src` into dst[size], cut at a UTF-8 boundary when too long. */
void sm_aws_error_copy(char *dst, size_t size, const char *src);

#endif
