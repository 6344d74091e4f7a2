/* version: the one version string of gradviz, for --version and for what the outputs name as
 * their generator (the HTML report's <meta name="generator"> and footer, flow.html). */
#ifndef GRADVIZ_VERSION_H
#define GRADVIZ_VERSION_H

#define GRADVIZ_VERSION "0.1.0"

#endif
