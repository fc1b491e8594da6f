package web

import (
	"net/http"

	"github.com/tansa-sec/tansa/internal/access"
)

// authMode says how a route authenticates.
type authMode int

const (
	authNone authMode = iota // public
	authAny                  // any authenticated principal
	authPerm                 // an authenticated principal holding Perm
)

// route is one entry of the route table: the API, the console and the
// operational endpoints, each declaring what it needs.
type route struct {
	Method  string
	Path    string // a net/http ServeMux pattern path
	Auth    authMode
	Perm    access.Perm
	Page    bool   // a console page: errors render as pages, auth by cookie only
	Proto   string // "hec" or "es": errors in that protocol's shape for its shippers
	Summary string // documentation; must match the OpenAPI document for API routes
	h       http.Handler
}

func public(method, path, summary string, h http.HandlerFunc) route {
	return route{Method: method, Path: path, Auth: authNone, Summary: summary, h: h}
}

func authed(method, path, summary string, h http.HandlerFunc) route {
	return route{Method: method, Path: path, Auth: authAny, Summary: summary, h: h}
}

func need(perm access.Perm, method, path, summary string, h http.HandlerFunc) route {
	return route{Method: method, Path: path, Auth: authPerm, Perm: perm, Summary: summary, h: h}
}

func hec(r route) route {
	r.Proto = "hec"
	return r
}

func es(r route) route {
	r.Proto = "es"
	return r
}

// sweep marks the scanners' upload route: refusals before the handler
// (unknown or revoked tokens) are audited too.
func sweep(r route) route {
	r.Proto = "sweep"
	return r
}

func taxiiRoute(r route) route {
	r.Proto = "taxii"
	return r
}

func page(r route) route {
	r.Page = true
	return r
}

// routeTable is the whole HTTP surface of Tansa. Later stages of the
// pipeline add their routes here, and the OpenAPI and tenant-isolation
// tests pick them up from this table.
func (s *Server) routeTable() []route {
	return []route{
		// Operations.
		public("GET", "/healthz", "Readiness: 200 once the server is ready.", s.handleHealthz),
		public("GET", "/metrics", "Prometheus metrics.", s.handleMetrics().ServeHTTP),
		public("GET", "/api/v1/openapi.json", "This API's OpenAPI 3 document.", s.apiOpenAPI),

		// API: the caller.
		authed("GET", "/api/v1/me", "Who the caller is.", s.apiMe),
		need(access.PermSelf, "PATCH", "/api/v1/me", "Change the caller's name, e-mail, language or time zone.", s.apiUpdateMe),
		need(access.PermSelf, "POST", "/api/v1/me/password", "Change the caller's password.", s.apiChangeMyPassword),

		// API: tenants.
		need(access.PermTenantRead, "GET", "/api/v1/tenants", "List tenants.", s.apiTenants),
		need(access.PermTenantWrite, "POST", "/api/v1/tenants", "Create a tenant.", s.apiCreateTenant),
		need(access.PermTenantRead, "GET", "/api/v1/tenants/{id}", "Get a tenant.", s.apiTenant),
		need(access.PermTenantWrite, "PATCH", "/api/v1/tenants/{id}", "Change a tenant.", s.apiUpdateTenant),

		// API: users.
		need(access.PermUserRead, "GET", "/api/v1/users", "List users.", s.apiUsers),
		need(access.PermUserWrite, "POST", "/api/v1/users", "Create a user.", s.apiCreateUser),
		need(access.PermUserRead, "GET", "/api/v1/users/{id}", "Get a user.", s.apiUser),
		need(access.PermUserWrite, "PATCH", "/api/v1/users/{id}", "Change a user.", s.apiUpdateUser),
		need(access.PermUserWrite, "POST", "/api/v1/users/{id}/password", "Reset a user's password.", s.apiResetPassword),

		// API: tokens.
		need(access.PermTokenRead, "GET", "/api/v1/tokens", "List API tokens.", s.apiTokens),
		need(access.PermTokenWrite, "POST", "/api/v1/tokens", "Create an API token; its secret is shown once.", s.apiCreateToken),
		need(access.PermTokenRead, "GET", "/api/v1/tokens/{id}", "Get an API token.", s.apiToken),
		need(access.PermTokenWrite, "DELETE", "/api/v1/tokens/{id}", "Revoke an API token.", s.apiRevokeToken),

		// Inputs: Splunk HEC and the Elasticsearch bulk API, for the shippers
		// people already run (ingest tokens; data lands in the token's tenant).
		hec(need(access.PermEventWrite, "POST", "/services/collector", "HEC: send events.", s.hecEvent)),
		hec(need(access.PermEventWrite, "POST", "/services/collector/event", "HEC: send events.", s.hecEvent)),
		hec(need(access.PermEventWrite, "POST", "/services/collector/event/1.0", "HEC: send events.", s.hecEvent)),
		hec(need(access.PermEventWrite, "POST", "/services/collector/raw", "HEC: send raw lines.", s.hecRaw)),
		hec(need(access.PermEventWrite, "POST", "/services/collector/raw/1.0", "HEC: send raw lines.", s.hecRaw)),
		hec(need(access.PermEventWrite, "POST", "/services/collector/ack", "HEC: query acknowledgements.", s.deps.Inputs.HECAck)),
		hec(public("GET", "/services/collector/health", "HEC: health.", s.deps.Inputs.HECHealth)),
		es(need(access.PermEventWrite, "GET", "/es/{$}", "Elasticsearch API: version.", s.deps.Inputs.ESInfo)),
		es(need(access.PermEventWrite, "HEAD", "/es/{$}", "Elasticsearch API: ping.", s.deps.Inputs.ESInfo)),
		es(need(access.PermEventWrite, "GET", "/es/_license", "Elasticsearch API: licence check.", s.deps.Inputs.ESAccept)),
		es(need(access.PermEventWrite, "PUT", "/es/_index_template/{name}", "Elasticsearch API: accept an index template.", s.deps.Inputs.ESAccept)),
		es(need(access.PermEventWrite, "PUT", "/es/_ilm/policy/{name}", "Elasticsearch API: accept an ILM policy.", s.deps.Inputs.ESAccept)),
		es(need(access.PermEventWrite, "POST", "/es/_bulk", "Elasticsearch API: bulk index.", s.esBulk)),
		es(need(access.PermEventWrite, "POST", "/es/{index}/_bulk", "Elasticsearch API: bulk index into an index.", s.esBulk)),

		// API: events.
		need(access.PermEventRead, "GET", "/api/v1/events", "Search events.", s.apiEvents),
		need(access.PermEventRead, "GET", "/api/v1/events/histogram", "Count matching events over time.", s.apiEventsHistogram),
		need(access.PermEventRead, "GET", "/api/v1/events/top", "The most frequent values of a field among matching events.", s.apiEventsTop),
		need(access.PermEventRead, "GET", "/api/v1/events/export", "Export matching events as JSON lines or CSV.", s.apiEventsExport),
		need(access.PermEventRead, "GET", "/api/v1/events/{id}", "Get an event, raw and normalised.", s.apiEvent),

		// API: threat intelligence; the feeds are for firewalls, proxies
		// and resolvers, which pull them with an API token.
		need(access.PermIntelWrite, "POST", "/api/v1/intel/import", "Import a feed document (STIX, MISP, CSV or a plain list) as indicators.", s.apiIntelImport),
		need(access.PermIntelRead, "GET", "/api/v1/intel/indicators", "Search indicators.", s.apiIntelIndicators),
		need(access.PermIntelRead, "GET", "/api/v1/intel/indicators/{id}", "Get an indicator with its sightings.", s.apiIntelIndicator),
		need(access.PermIntelRead, "GET", "/api/v1/intel/imports", "The import log, newest first.", s.apiIntelImports),
		need(access.PermIntelRead, "GET", "/api/v1/intel/feeds/edl/{kind}", "A block list as an External Dynamic List: one IP, domain or URL per line.", s.apiIntelEDL),
		need(access.PermIntelRead, "GET", "/api/v1/intel/feeds/rpz", "A block list as a DNS response policy zone.", s.apiIntelRPZ),
		// Threat intelligence at work (issue #5): retro-hunts and their
		// look-back window.
		need(access.PermIntelRead, "GET", "/api/v1/intel/hunts", "List retro-hunts, newest first.", s.apiIntelHunts),
		need(access.PermIntelRead, "GET", "/api/v1/intel/hunts/{id}", "Get a retro-hunt with its progress and a page of its results.", s.apiIntelHunt),
		need(access.PermIntelWrite, "POST", "/api/v1/intel/indicators/{id}/hunt", "Hunt this indicator now in the stored events.", s.apiIntelHuntIndicator),
		need(access.PermIntelRead, "GET", "/api/v1/intel/indicators/{id}/hits", "The stored events and sweep results retro-hunts found for an indicator.", s.apiIntelIndicatorHits),
		need(access.PermIntelRead, "GET", "/api/v1/intel/settings", "A tenant's intelligence settings: the retro-hunt look-back window.", s.apiIntelSettings),
		need(access.PermIntelWrite, "PUT", "/api/v1/intel/settings", "Change a tenant's retro-hunt look-back window.", s.apiIntelUpdateSettings),
		need(access.PermIntelRead, "GET", "/api/v1/intel/sources", "List the feed sources pulled on a schedule.", s.apiIntelSources),
		need(access.PermIntelWrite, "POST", "/api/v1/intel/sources", "Configure a feed source: a TAXII collection, a URL or a local file.", s.apiIntelCreateSource),
		need(access.PermIntelRead, "GET", "/api/v1/intel/sources/{id}", "Get a feed source with its last pull.", s.apiIntelSource),
		need(access.PermIntelWrite, "PATCH", "/api/v1/intel/sources/{id}", "Change a feed source.", s.apiIntelUpdateSource),
		need(access.PermIntelWrite, "DELETE", "/api/v1/intel/sources/{id}", "Remove a feed source; what it imported stays.", s.apiIntelDeleteSource),
		need(access.PermIntelWrite, "POST", "/api/v1/intel/sources/{id}/pull", "Pull a feed source now.", s.apiIntelPullSource),
		need(access.PermIntelRead, "GET", "/api/v1/intel/export/{format}", "Export the indicators the caller may see as a STIX 2.1 bundle or a MISP event.", s.apiIntelExport),

		// TAXII 2.1, read-only (issue #5): one collection per tenant the
		// caller reaches; errors in TAXII's own shape.
		taxiiRoute(need(access.PermIntelRead, "GET", "/taxii2/{$}", "TAXII 2.1 discovery.", s.taxiiDiscovery)),
		taxiiRoute(need(access.PermIntelRead, "GET", "/taxii2/api/{$}", "TAXII 2.1 API root.", s.taxiiAPIRoot)),
		taxiiRoute(need(access.PermIntelRead, "GET", "/taxii2/api/collections/{$}", "TAXII 2.1 collections: one per tenant the caller reaches.", s.taxiiCollections)),
		taxiiRoute(need(access.PermIntelRead, "GET", "/taxii2/api/collections/{id}/{$}", "TAXII 2.1 collection.", s.taxiiCollection)),
		taxiiRoute(need(access.PermIntelRead, "GET", "/taxii2/api/collections/{id}/objects/{$}", "TAXII 2.1 objects, paged by added_after, limit and next.", s.taxiiObjects)),
		taxiiRoute(need(access.PermIntelRead, "GET", "/taxii2/api/collections/{id}/manifest/{$}", "TAXII 2.1 manifest.", s.taxiiManifest)),

		// API: endpoint sweeps (internal/fleet). Scanners upload with an
		// enrolment token (scanner role) into its tenant; people see the
		// fleet, review findings and build scan packages.
		sweep(need(access.PermSweepUpload, "POST", "/api/v1/sweeps", "Upload one sealed sweep result (tansa scan, with an enrolment token).", s.apiSweepUpload)),
		need(access.PermFleetRead, "GET", "/api/v1/fleet/key", "The server's age key that sweep results are sealed to, and its package-signing key.", s.apiFleetKey),
		need(access.PermFleetWrite, "POST", "/api/v1/fleet/upload", "Upload an offline sweep result file (tansa scan --out) into a tenant.", s.apiFleetUpload),
		need(access.PermFleetRead, "GET", "/api/v1/fleet/assets", "List endpoints with their last sweep; filter by coverage or by an artifact they have.", s.apiFleetAssets),
		need(access.PermFleetWrite, "POST", "/api/v1/fleet/assets", "Register expected endpoints by hostname, so coverage shows those never swept.", s.apiFleetRegister),
		need(access.PermFleetRead, "GET", "/api/v1/fleet/assets/{id}", "Get an endpoint.", s.apiFleetAsset),
		need(access.PermFleetRead, "GET", "/api/v1/fleet/sweeps", "List sweeps, newest first.", s.apiFleetSweeps),
		need(access.PermFleetRead, "GET", "/api/v1/fleet/sweeps/{id}", "Get a sweep with its whole result.", s.apiFleetSweep),
		need(access.PermFleetRead, "GET", "/api/v1/fleet/findings", "List findings of the endpoints' latest sweeps, highest score first, with their verdicts.", s.apiFleetFindings),
		need(access.PermFleetRead, "GET", "/api/v1/fleet/coverage", "Count endpoints swept within N days, earlier, and never.", s.apiFleetCoverage),
		need(access.PermFleetRead, "GET", "/api/v1/fleet/prevalence", "Artifacts (autoruns, process paths, hashes, services) by how many endpoints have them, rarest first.", s.apiFleetPrevalence),
		need(access.PermFleetRead, "GET", "/api/v1/fleet/diff", "What changed between two sweeps of one endpoint.", s.apiFleetDiff),
		need(access.PermFleetReview, "POST", "/api/v1/fleet/reviews", "Comment on a finding and mark it benign or malicious; benign makes it an exception for future sweeps.", s.apiFleetAddReview),
		need(access.PermFleetRead, "GET", "/api/v1/fleet/reviews", "The reviews of a finding, oldest first.", s.apiFleetReviews),
		need(access.PermFleetRead, "GET", "/api/v1/fleet/exceptions", "A tenant's exceptions: finding keys reviewed benign, which scan packages carry.", s.apiFleetExceptions),
		need(access.PermFleetRead, "GET", "/api/v1/fleet/campaigns", "List sweep campaigns with their progress.", s.apiFleetCampaigns),
		need(access.PermFleetWrite, "POST", "/api/v1/fleet/campaigns", "Start a one-shot or periodic sweep campaign.", s.apiFleetCreateCampaign),
		need(access.PermFleetRead, "GET", "/api/v1/fleet/campaigns/{id}", "Get a campaign with its progress.", s.apiFleetCampaign),
		need(access.PermFleetRead, "GET", "/api/v1/fleet/platforms", "The platform binaries this server holds for scan packages.", s.apiFleetPlatforms),
		need(access.PermFleetWrite, "POST", "/api/v1/fleet/packages", "Download a scan package: a platform binary with a signed configuration and a new enrolment token appended.", s.apiFleetPackage),
		// API: alerts and their tuning (alerts engineer).
		need(access.PermAlertRead, "GET", "/api/v1/alerts", "List alerts.", s.apiAlerts),
		need(access.PermAlertRead, "GET", "/api/v1/alerts/stream", "New and changed alerts as server-sent events.", s.apiAlertsStream),
		need(access.PermAlertWrite, "POST", "/api/v1/alerts/triage", "Acknowledge, assign, close or reopen many alerts at once.", s.apiAlertsTriage),
		need(access.PermAlertRead, "GET", "/api/v1/alerts/{id}", "Get an alert.", s.apiAlert),
		need(access.PermRuleRead, "GET", "/api/v1/exceptions", "List exceptions.", s.apiExceptions),
		need(access.PermRuleWrite, "POST", "/api/v1/exceptions", "Create an exception that suppresses a rule's matches.", s.apiCreateException),
		need(access.PermRuleRead, "GET", "/api/v1/exceptions/{id}", "Get an exception with its hit count.", s.apiException),
		need(access.PermRuleWrite, "PATCH", "/api/v1/exceptions/{id}", "Change an exception.", s.apiUpdateException),
		need(access.PermRuleWrite, "DELETE", "/api/v1/exceptions/{id}", "Delete an exception.", s.apiDeleteException),
		need(access.PermRuleRead, "GET", "/api/v1/rules", "List the rules a tenant runs from, each marked enabled or not.", s.apiRules),
		need(access.PermRuleWrite, "POST", "/api/v1/rules/import", "Import a rule archive or file as the next version of a rule set.", s.apiRulesImport),
		need(access.PermRuleRead, "GET", "/api/v1/rules/versions", "List rule set versions, newest first.", s.apiRuleVersions),
		need(access.PermRuleRead, "GET", "/api/v1/rules/versions/{id}", "Get a rule set version.", s.apiRuleVersion),
		need(access.PermRuleWrite, "POST", "/api/v1/rules/versions/{id}/activate", "Make a version the live one of its set.", s.apiActivateRuleVersion),
		need(access.PermRuleRead, "GET", "/api/v1/rules/settings", "A tenant's rule settings.", s.apiRuleSettings),
		need(access.PermRuleWrite, "PUT", "/api/v1/rules/settings", "Replace a tenant's rule settings.", s.apiPutRuleSettings),
		need(access.PermRuleWrite, "POST", "/api/v1/rules/switch", "Turn rules on or off for a tenant.", s.apiSwitchRules),

		// API: cases (internal/cases) — incidents with tasks, notes,
		// observables, evidence and timeline; templates, SLA targets,
		// response metrics and the issue-tracking view.
		need(access.PermCaseRead, "GET", "/api/v1/cases", "List cases.", s.apiCases),
		need(access.PermCaseWrite, "POST", "/api/v1/cases", "Open a case, optionally from alerts and with a template's tasks.", s.apiCreateCase),
		need(access.PermCaseRead, "GET", "/api/v1/cases/{id}", "Get a case with its alerts, tasks, notes, observables and evidence.", s.apiCase),
		need(access.PermCaseWrite, "PATCH", "/api/v1/cases/{id}", "Change a case: title, description, severity, assignee, phase, resolution.", s.apiUpdateCase),
		need(access.PermCaseWrite, "POST", "/api/v1/cases/{id}/alerts", "Link alerts to a case.", s.apiLinkAlerts),
		need(access.PermCaseWrite, "POST", "/api/v1/cases/{id}/tasks", "Add a task to a case.", s.apiAddTask),
		need(access.PermCaseWrite, "POST", "/api/v1/cases/{id}/notes", "Add a note to a case.", s.apiAddNote),
		need(access.PermCaseWrite, "POST", "/api/v1/cases/{id}/observables", "Add observables to a case.", s.apiAddObservables),
		need(access.PermCaseWrite, "POST", "/api/v1/cases/{id}/evidence", "Upload an evidence file to a case.", s.apiAddEvidence),
		need(access.PermCaseRead, "GET", "/api/v1/cases/{id}/timeline", "A case's timeline, oldest first.", s.apiCaseTimeline),
		need(access.PermCaseWrite, "PATCH", "/api/v1/case-tasks/{id}", "Change a task: status, owner, due date, title.", s.apiUpdateTask),
		need(access.PermCaseWrite, "POST", "/api/v1/case-observables/{id}/retro-hunt", "Retro-hunt an observable through the tenant's stored events.", s.apiRetroHunt),
		need(access.PermCaseRead, "GET", "/api/v1/case-evidence/{id}", "An evidence file's record with its chain of custody.", s.apiEvidence),
		need(access.PermCaseRead, "GET", "/api/v1/case-evidence/{id}/content", "Download an evidence file (recorded in its chain of custody).", s.apiEvidenceContent),
		need(access.PermCaseRead, "GET", "/api/v1/case-templates", "The case templates in force in a tenant.", s.apiCaseTemplates),
		need(access.PermCaseWrite, "PUT", "/api/v1/case-templates", "Store a tenant's version of a case template (YAML or JSON).", s.apiPutCaseTemplate),
		need(access.PermCaseWrite, "DELETE", "/api/v1/case-templates", "Remove a tenant's version of a case template.", s.apiDeleteCaseTemplate),
		need(access.PermCaseRead, "GET", "/api/v1/case-sla", "A tenant's SLA targets per severity.", s.apiCaseSLA),
		need(access.PermCaseWrite, "PUT", "/api/v1/case-sla", "Set a tenant's SLA targets.", s.apiPutCaseSLA),
		need(access.PermCaseRead, "GET", "/api/v1/case-metrics", "A tenant's MTTA, time to contain and MTTR over a period.", s.apiCaseMetrics),
		need(access.PermCaseRead, "GET", "/api/v1/case-tracker", "The issue-tracking view: open cases and tasks, as JSON or CSV.", s.apiCaseTracker),

		// API: response playbooks (playbooks.go), their runs, the tenants'
		// connectors and the values playbooks blocked.
		need(access.PermPlaybookRead, "GET", "/api/v1/playbooks", "List playbooks.", s.apiPlaybooks),
		need(access.PermPlaybookWrite, "POST", "/api/v1/playbooks", "Create a playbook from its YAML source.", s.apiCreatePlaybook),
		need(access.PermPlaybookRead, "POST", "/api/v1/playbooks/check", "Validate a playbook's YAML (problems by line) and run its test cases, storing nothing.", s.apiCheckPlaybook),
		need(access.PermPlaybookRead, "GET", "/api/v1/playbooks/{id}", "Get a playbook.", s.apiPlaybook),
		need(access.PermPlaybookWrite, "PUT", "/api/v1/playbooks/{id}", "Save a new version of a playbook, or switch it on or off.", s.apiUpdatePlaybook),
		need(access.PermPlaybookRun, "POST", "/api/v1/playbooks/{id}/runs", "Start a run by hand, or a dry run.", s.apiStartRun),
		need(access.PermPlaybookRead, "GET", "/api/v1/playbook-runs", "List playbook runs, newest first.", s.apiRuns),
		need(access.PermPlaybookRead, "GET", "/api/v1/playbook-runs/{id}", "Get a run with every step's inputs, outputs and decisions.", s.apiRun),
		need(access.PermPlaybookRun, "POST", "/api/v1/playbook-runs/{id}/decide", "Approve or reject a waiting approval step.", s.apiDecide),
		need(access.PermPlaybookRun, "POST", "/api/v1/playbook-runs/{id}/revert", "Revert a containment step: unblock its values or release its host.", s.apiRevert),
		need(access.PermPlaybookRead, "GET", "/api/v1/connectors", "List the tenants' connectors (secrets are never shown).", s.apiConnectors),
		need(access.PermConnectorWrite, "PUT", "/api/v1/connectors", "Create or change a connector (EDR, mail, chat, webhook).", s.apiPutConnector),
		need(access.PermConnectorWrite, "DELETE", "/api/v1/connectors/{name}", "Delete a connector.", s.apiDeleteConnector),
		need(access.PermPlaybookRead, "GET", "/api/v1/blocklist", "The values playbooks put on a tenant's block list.", s.apiBlocks),

		// API: audit.
		need(access.PermAuditRead, "GET", "/api/v1/audit", "List audit entries, newest first.", s.apiAudit),

		// Console.
		page(public("GET", "/static/{file...}", "Console assets.", s.pageStatic)),
		page(public("GET", "/login", "Login page.", s.pageLogin)),
		page(public("POST", "/login", "Log in.", s.pageLoginPost)),
		page(authed("POST", "/logout", "Log out.", s.pageLogout)),
		page(authed("GET", "/{$}", "Overview.", s.pageHome)),
		// Console: the admin area (console_admin.go).
		page(authed("POST", "/switch-tenant", "Choose the tenant the console shows.", s.pageSwitchTenant)),
		page(need(access.PermSelf, "POST", "/language", "Choose the console's language.", s.pageLanguage)),
		page(need(access.PermSelf, "GET", "/settings", "Your settings.", s.pageSettings)),
		page(need(access.PermSelf, "POST", "/settings", "Change your settings or password.", s.pageSettingsPost)),
		page(need(access.PermEventRead, "GET", "/events", "Events: search, histogram, frequent values.", s.pageEvents)),
		page(need(access.PermEventRead, "GET", "/events/{id}", "An event, raw and normalised.", s.pageEvent)),
		// Console: incident response (console_cases.go).
		page(need(access.PermCaseRead, "GET", "/cases", "Cases.", s.pageCases)),
		page(need(access.PermCaseWrite, "POST", "/cases", "Open a case.", s.pageCreateCase)),
		page(need(access.PermCaseRead, "GET", "/cases/{id}", "A case, by tab.", s.pageCase)),
		page(need(access.PermCaseWrite, "POST", "/cases/{id}", "Change a case or move it to another phase.", s.pageUpdateCase)),
		page(need(access.PermCaseWrite, "POST", "/cases/{id}/notes", "Add a note to a case.", s.pageAddCaseNote)),
		page(need(access.PermCaseWrite, "POST", "/cases/{id}/tasks", "Add a task to a case.", s.pageAddCaseTask)),
		page(need(access.PermCaseWrite, "POST", "/cases/{id}/observables", "Add observables to a case.", s.pageAddCaseObservables)),
		page(need(access.PermCaseWrite, "POST", "/cases/{id}/evidence", "Upload an evidence file.", s.pageAddCaseEvidence)),
		page(need(access.PermCaseWrite, "POST", "/case-tasks/{id}", "Change a task's status, owner or due date.", s.pageUpdateCaseTask)),
		page(need(access.PermCaseWrite, "POST", "/case-observables/{id}/retro-hunt", "Retro-hunt an observable.", s.pageRetroHunt)),
		page(need(access.PermCaseRead, "GET", "/case-templates", "Case templates.", s.pageCaseTemplates)),
		page(need(access.PermCaseWrite, "POST", "/case-templates", "Save or revert a tenant's case template.", s.pageSaveCaseTemplate)),
		page(need(access.PermCaseRead, "GET", "/tracker", "The issue-tracking view of open cases and tasks.", s.pageTracker)),
		// Console: playbooks, runs, connectors (playbooks.go).
		page(need(access.PermPlaybookRead, "GET", "/playbooks", "Playbooks and the built-in ones.", s.pagePlaybooks)),
		page(need(access.PermPlaybookWrite, "POST", "/playbooks", "Create a playbook.", s.pageCreatePlaybook)),
		page(need(access.PermPlaybookRead, "GET", "/playbooks/{id}", "A playbook: its YAML, validation, tests and runs.", s.pagePlaybook)),
		page(need(access.PermPlaybookWrite, "POST", "/playbooks/{id}", "Save a playbook.", s.pageUpdatePlaybook)),
		page(need(access.PermPlaybookRun, "POST", "/playbooks/{id}/runs", "Start a run or a dry run.", s.pageStartRun)),
		page(need(access.PermPlaybookRead, "GET", "/playbook-runs", "Playbook runs.", s.pageRuns)),
		page(need(access.PermPlaybookRead, "GET", "/playbook-runs/{id}", "A run: steps, inputs, outputs, approvals.", s.pageRun)),
		page(need(access.PermPlaybookRun, "POST", "/playbook-runs/{id}/decide", "Approve or reject a step.", s.pageDecide)),
		page(need(access.PermPlaybookRun, "POST", "/playbook-runs/{id}/revert", "Revert a containment.", s.pageRevert)),
		page(need(access.PermPlaybookRead, "GET", "/admin/connectors", "Connectors.", s.pageConnectors)),
		page(need(access.PermConnectorWrite, "POST", "/admin/connectors", "Create or change a connector.", s.pagePutConnector)),
		// Console: threat intelligence (issue #5, console_intel.go).
		page(need(access.PermIntelRead, "GET", "/intel", "Threat intelligence: search indicators.", s.pageIntel)),
		page(need(access.PermIntelRead, "GET", "/intel/indicators/{id}", "An indicator: context, relations, sightings and matched events.", s.pageIndicator)),
		page(need(access.PermIntelWrite, "POST", "/intel/indicators/{id}/hunt", "Hunt an indicator now.", s.pageHuntIndicator)),
		page(need(access.PermIntelRead, "GET", "/intel/import", "Import intelligence; the report of recent imports.", s.pageIntelImport)),
		page(need(access.PermIntelWrite, "POST", "/intel/import", "Import an uploaded or pasted document.", s.pageIntelImportPost)),
		page(need(access.PermIntelRead, "GET", "/intel/feeds", "Feed sources pulled on a schedule.", s.pageIntelFeeds)),
		page(need(access.PermIntelWrite, "POST", "/intel/feeds", "Configure a feed source.", s.pageIntelFeedsPost)),
		page(need(access.PermIntelWrite, "POST", "/intel/feeds/{id}", "Pull or remove a feed source.", s.pageIntelFeedAction)),
		page(need(access.PermIntelRead, "GET", "/intel/hunts", "Retro-hunt jobs.", s.pageHunts)),
		page(need(access.PermIntelRead, "GET", "/intel/hunts/{id}", "A retro-hunt: progress and results.", s.pageHunt)),
		page(need(access.PermTenantRead, "GET", "/admin/tenants", "Tenants.", s.pageTenants)),
		page(need(access.PermTenantWrite, "POST", "/admin/tenants", "Create a tenant.", s.pageCreateTenant)),
		page(need(access.PermTenantRead, "GET", "/admin/tenants/{id}", "A tenant.", s.pageTenant)),
		page(need(access.PermTenantWrite, "POST", "/admin/tenants/{id}", "Change a tenant.", s.pageUpdateTenant)),
		page(need(access.PermUserRead, "GET", "/admin/users", "Users.", s.pageUsers)),
		page(need(access.PermUserWrite, "POST", "/admin/users", "Create a user.", s.pageCreateUser)),
		page(need(access.PermUserWrite, "POST", "/admin/users/{id}", "Disable, enable or reset the password of a user.", s.pageUserAction)),
		page(need(access.PermTokenRead, "GET", "/admin/tokens", "API tokens.", s.pageTokens)),
		page(need(access.PermTokenWrite, "POST", "/admin/tokens", "Create an API token; its secret is shown once.", s.pageCreateToken)),
		page(need(access.PermTokenWrite, "POST", "/admin/tokens/{id}/revoke", "Revoke an API token.", s.pageRevokeToken)),
		page(need(access.PermAuditRead, "GET", "/admin/audit", "The audit log.", s.pageAudit)),
		// Console: detection (alerts engineer).
		page(need(access.PermAlertRead, "GET", "/alerts", "Alerts queue: filter, sort, select and triage.", s.pageAlerts)),
		page(need(access.PermAlertWrite, "POST", "/alerts/triage", "Acknowledge, assign, close or reopen the selected alerts.", s.pageAlertsTriage)),
		page(need(access.PermAlertRead, "GET", "/alerts/{id}", "An alert: matched fields, context, linked events.", s.pageAlert)),
		page(need(access.PermRuleRead, "GET", "/rules", "Rules: versions of the rule sets, rules on and off.", s.pageRules)),
		page(need(access.PermRuleWrite, "POST", "/rules/switch", "Turn a rule on or off.", s.pageRulesSwitch)),
		page(need(access.PermRuleRead, "GET", "/exceptions", "Exceptions: what is suppressed, why, by whom, and how often.", s.pageExceptions)),
		page(need(access.PermRuleWrite, "POST", "/exceptions", "Create an exception.", s.pageCreateException)),
		page(need(access.PermRuleWrite, "POST", "/exceptions/{id}/delete", "Delete an exception.", s.pageDeleteException)),
		// Console: endpoint sweeps (console_fleet.go).
		page(need(access.PermFleetRead, "GET", "/endpoints", "Endpoints: coverage, the endpoint list, the server's key.", s.pageEndpoints)),
		page(need(access.PermFleetRead, "GET", "/endpoints/{id}", "An endpoint: its sweeps and findings, with their review.", s.pageEndpoint)),
		page(need(access.PermFleetRead, "GET", "/endpoints/diff", "What changed between two sweeps.", s.pageEndpointDiff)),
		page(need(access.PermFleetRead, "GET", "/endpoints/prevalence", "Prevalence: artifacts across the fleet, rarest first.", s.pagePrevalence)),
		page(need(access.PermFleetRead, "GET", "/endpoints/packages", "Scan packages and campaigns.", s.pagePackages)),
		page(need(access.PermFleetWrite, "POST", "/endpoints/upload", "Upload an offline sweep result file.", s.pageEndpointUpload)),
		page(need(access.PermFleetReview, "POST", "/endpoints/review", "Comment on a finding or give a verdict.", s.pageEndpointReview)),
		page(need(access.PermFleetWrite, "POST", "/endpoints/campaigns", "Start a sweep campaign.", s.pageCreateCampaign)),
	}
}
