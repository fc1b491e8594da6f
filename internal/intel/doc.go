// Package intel is Tansa's threat-intelligence core: the Indicator with its
// 5W1H context, TLP, confidence, validity and decay; the normalisation that
// turns a defanged or sloppily written value into the one canonical form the
// matcher and the stores compare; and the allowlists (warninglists) that flag
// benign values so that they never reach a block list.
//
// Data enters as raw values from importers (package importer), analysts and
// feeds, and leaves as validated Indicators for the matcher (package match),
// the block-list renderers (package blocklist) and, later, storage. The
// package holds no state: every function is pure or works on values it is
// given, and all types are safe for concurrent reads.
package intel
