package sigma

// ruleDirs are the SigmaHQ rule folders under the shared data.
var ruleDirs = []string{"sigma/rules", "sigma/rules-emerging-threats", "sigma/rules-threat-hunting", "sigma/rules-placeholder"}
