/** Environment variables by which test processes find (or are told to reuse) the AWS emulator. */

/** `1`: the jest global setup also starts the AWS emulator (same as `globals.keikoAwsEmulator`). */
export const ENV_AWS_EMULATOR = 'KEIKO_TEST_AWS';
/** Use the emulator at this URL instead of starting one (e.g. the one `./dev run` started). */
export const ENV_EXTERNAL_AWS_ENDPOINT = 'KEIKO_TEST_AWS_ENDPOINT_URL';
