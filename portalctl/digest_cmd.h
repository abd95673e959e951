/* digest_cmd.h - `portalctl digest publish [--days N] [--json]`: the digest
 * posted to the feed from a server's cron or systemd timer (SPEC §10). */
#ifndef PORTALCTL_DIGEST_CMD_H
#define PORTALCTL_DIGEST_CMD_H

/* Runs the digest command group; argv[0] is "digest". verbose is the count
 * of -v given before the command. Returns the exit status (0 posted or
 * already posted this hour, 1 store failure or bad configuration, 2 usage). */
int portalctl_digest_main(int argc, char **argv, int verbose);

#endif
