#!/usr/bin/env bats
# The pipelines of examples/ run as shipped, on the bundled sample capture.
bats_require_minimum_version 1.5.0

setup() {
	load test_helper
}

@test "refused.sh ranks the port scanner of the sample first" {
	run "$NI_SRCDIR/examples/refused.sh"
	assert_success
	assert_line --index 0 --regexp $'^10\t192\\.168\\.2\\.154\tports:( [0-9]+){10}$'
}

@test "the sample capture has the flows the README shows" {
	run ni-capture -r "$NI_SRCDIR/examples/sample.pcap"
	assert_success
	assert_equal "$(grep -c . <<< "$output")" 50
	assert_line --partial ',tcp,141.142.228.5,59856,192.150.187.43,80,7,512,7,5379,FSPA,FSPA,closed,0,http:bro.org'
}
