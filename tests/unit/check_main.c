/* check_main.c - runs every Check suite. Each test file defines one suite. */
#include <check.h>
#include <stdlib.h>

Suite *csv_suite(void);
Suite *ingest_suite(void);
Suite *stats_suite(void);
Suite *metrics_suite(void);
Suite *synth_suite(void);
Suite *report_suite(void);
Suite *probe_suite(void);
Suite *sanity_suite(void);
Suite *pipeline_suite(void);
Suite *e2e_suite(void);
Suite *ops_suite(void);
Suite *rootcause_suite(void);
Suite *mitigate_suite(void);
Suite *probes_stage_suite(void);
Suite *labelnoise_suite(void);
Suite *domain_suite(void);
Suite *surrogate_suite(void);
Suite *represent_suite(void);
Suite *whatif_suite(void);
Suite *scenarios_suite(void);

int main(void)
{
	Suite *(*const suites[])(void) = {csv_suite, ingest_suite, stats_suite, metrics_suite, synth_suite,
					  report_suite, probe_suite, sanity_suite, pipeline_suite, e2e_suite, ops_suite, rootcause_suite,
					  mitigate_suite, probes_stage_suite, labelnoise_suite, domain_suite,
					  surrogate_suite, represent_suite, whatif_suite, scenarios_suite};
	SRunner *sr = srunner_create(NULL);
	for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
