// Package sigma is Tansa's Sigma engine: it parses Sigma v2 detection and
// correlation rules, compiles them once into matchers, and evaluates events.
//
// Data enters as rule files (ParseFile, ParseDir, Parse) and as events that
// satisfy the Event interface; it leaves as Match values from a Ruleset and
// as Correlation alerts from a Correlator. Log-source filters and field
// mappings are data (logsources.yaml and mappings/*.yaml, embedded), not
// code. The package holds no global state: everything lives in the values
// the caller builds.
package sigma
