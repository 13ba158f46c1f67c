/* aws_cli: the "whoami" and "call" commands of sagemagic-aws, rows of the
 * command table in cli.c. */
#ifndef SM_AWS_CLI_H
#define SM_AWS_CLI_H

/* "whoami [--region R] [--profile P] [--endpoint-url U]": STS
 * GetCallerIdentity, printed as JSON (UserId, Account, Arn). argv[0] is
 * "whoami". Returns the exit status: 0, 1 failed, 2 usage. */
int sm_aws_cli_whoami(int argc, char **argv);

/* "call SERVICE OPERATION [JSON|-] [flags]": one awsJson call (SERVICE is
 * sagemaker or logs; the request defaults to {}; - reads it from stdin);
 * the response printed as indented JSON. Same flags and exit statuses. */
int sm_aws_cli_call(int argc, char **argv);

#endif
