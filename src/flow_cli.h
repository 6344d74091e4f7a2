/* flow_cli: the `gradviz flow` subcommand, the command line of the vanishing-gradient
 * experiment. Like main.c (which dispatches to it) it parses options and prints; the work is
 * in flow.c and flowchart.c. */
#ifndef GRADVIZ_FLOW_CLI_H
#define GRADVIZ_FLOW_CLI_H

/* Runs `gradviz flow [options]`; argv[0] is "flow" (main passes argc - 1, argv + 1). Prints the
 * table to stdout and writes the formats of -f (json, svg, pdf, html; default json,svg) as
 * flow.<ext> atomically into the output directory. Returns the exit status: 0, 2 (usage) or
 * 3 (I/O). */
int flow_main(int argc, char **argv);

#endif
