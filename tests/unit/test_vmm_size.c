#include "check.h"
#include "vmm/vmm.h"

static void test_sizes(void)
{
	berr e;
	uint64_t v;
	CHECK(vmm_parse_size("64", &v, &e) == 0 && v == 64ull << 20);
	CHECK(vmm_parse_size("64M", &v, &e) == 0 && v == 64ull << 20);
	CHECK(vmm_parse_size("64MiB", &v, &e) == 0 && v == 64ull << 20);
	CHECK(vmm_parse_size("1G", &v, &e) == 0 && v == 1ull << 30);
	CHECK(vmm_parse_size("512k", &v, &e) == 0 && v == 512ull << 10);
	CHECK(vmm_parse_size("4096B", &v, &e) == 0 && v == 4096);
	CHECK(vmm_parse_size("2GB", &v, &e) == 0 && v == 2ull << 30);
	CHECK(vmm_parse_size("3Gi", &v, &e) == 0 && v == 3ull << 30);
}

static void test_bad_sizes(void)
{
	berr e;
	uint64_t v;
	CHECK(vmm_parse_size("", &v, &e) < 0);
	CHECK(vmm_parse_size("M", &v, &e) < 0);
	CHECK(vmm_parse_size("-1M", &v, &e) < 0);
	CHECK(vmm_parse_size("12Q", &v, &e) < 0);
	CHECK_CONTAINS(e.msg, "12Q");
	CHECK(vmm_parse_size("1Mx", &v, &e) < 0);
	CHECK(vmm_parse_size("1MiBx", &v, &e) < 0);
	CHECK(vmm_parse_size("1MBB", &v, &e) < 0);
	CHECK(vmm_parse_size("1BB", &v, &e) < 0);
	CHECK(vmm_parse_size("99999999999999999999", &v, &e) < 0);
	CHECK(vmm_parse_size("17179869184G", &v, &e) < 0);
}

CHECK_MAIN(test_sizes, test_bad_sizes)
