package winevt

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/Velocidex/ordereddict"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// scalar converts one value produced by the EVTX decoder into one of the
// types tansa.Event allows. Maps are not scalars; callers flatten them first.
func scalar(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return x
	case bool:
		return x
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		return x
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		if x > math.MaxInt64 {
			// Only flag words (Keywords) get this large; Windows renders
			// them in hex, so that is the form rules and analysts expect.
			return "0x" + strconv.FormatUint(x, 16)
		}
		return int64(x)
	case float32:
		return float64(x)
	case float64:
		return x
	case []byte:
		return strings.ToUpper(hex.EncodeToString(x))
	case []string:
		return append([]string(nil), x...)
	case []uint16:
		out := make([]string, len(x))
		for i, n := range x {
			out[i] = strconv.FormatUint(uint64(n), 10)
		}
		return out
	case []uint64:
		out := make([]string, len(x))
		for i, n := range x {
			out[i] = strconv.FormatUint(n, 10)
		}
		return out
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, stringOf(scalar(e)))
		}
		return out
	case *ordereddict.Dict:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

// stringOf renders an allowed field value as text: tansa.FieldText, with
// a list joined by spaces.
func stringOf(v any) string {
	if x, ok := v.([]string); ok {
		return strings.Join(x, " ")
	}
	return tansa.FieldText(v)
}

// deriveECS adds the ECS names computed from the Windows names already in
// fields. It never overwrites a field that is present, so documents that
// arrived with ECS names (Winlogbeat) keep theirs.
func deriveECS(f map[string]any) {
	set := func(ecs string, from ...string) {
		if _, ok := f[ecs]; ok {
			return
		}
		for _, name := range from {
			if v, ok := f[name]; ok && v != nil && v != "" && v != "-" {
				f[ecs] = v
				return
			}
		}
	}
	if id, ok := f["EventID"]; ok {
		if _, ok := f["event.code"]; !ok {
			f["event.code"] = stringOf(id)
		}
	}
	set("winlog.event_id", "EventID")
	set("winlog.channel", "Channel")
	set("winlog.provider_name", "Provider_Name")
	set("winlog.provider_guid", "Provider_Guid")
	set("winlog.record_id", "EventRecordID")
	set("winlog.computer_name", "Computer")
	set("event.provider", "Provider_Name")
	set("host.name", "Computer")
	set("process.command_line", "CommandLine")
	set("process.executable", "Image", "NewProcessName", "ProcessName", "Application")
	set("process.pid", "ProcessId", "NewProcessId")
	set("process.parent.executable", "ParentImage", "ParentProcessName")
	set("process.parent.command_line", "ParentCommandLine")
	set("process.parent.pid", "ParentProcessId")
	set("user.name", "TargetUserName", "SubjectUserName", "AccountName")
	set("user.domain", "TargetDomainName", "SubjectDomainName", "AccountDomain")
	set("source.ip", "IpAddress", "SourceIp", "SourceAddress", "ClientAddress")
	set("source.port", "IpPort", "SourcePort")
	set("source.domain", "WorkstationName", "SourceHostname")
	set("destination.ip", "DestinationIp", "DestAddress")
	set("destination.port", "DestinationPort", "DestPort")
	set("destination.domain", "DestinationHostname")
	set("file.path", "TargetFilename")
	set("registry.path", "TargetObject")
	set("dns.question.name", "QueryName")
	set("service.name", "ServiceName")
	set("powershell.file.script_block_text", "ScriptBlockText")
	if _, ok := f["user.name"]; !ok {
		// Sysmon's User is DOMAIN\name in one string.
		if u, ok := f["User"].(string); ok && u != "" {
			if i := strings.LastIndexByte(u, '\\'); i >= 0 {
				f["user.domain"] = u[:i]
				f["user.name"] = u[i+1:]
			} else {
				f["user.name"] = u
			}
		}
	}
}
