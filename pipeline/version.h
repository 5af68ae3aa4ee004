/* version.h - the tool version, recorded in run.json, stage.json and every report. */
#ifndef MLA_VERSION_H
#define MLA_VERSION_H
#define MLA_VERSION "0.1.0"
#endif
