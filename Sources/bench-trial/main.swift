import PopulateBench

// One trial, in a process of its own: the request as JSON on stdin, the result as JSON on stdout.
// A binary apart from `bench` so that each of the hundreds of trials of a sweep loads only what a
// trial needs (no argument parser, no exports, no libcurl).
ChildTrialLauncher.serveAndExit()
