// Package winevt turns Windows event records into *tansa.Event.
//
// Records enter as EVTX files (ReadEVTX, ReadEVTXFile) or as JSON lines in
// one of three layouts that ParseJSON detects on its own: Winlogbeat/ECS
// documents, NXLog-style flat documents, and Azure Sentinel style documents
// whose EventData is a JSON string. Every event leaves with the same field
// vocabulary so that Sigma rules address all layouts alike:
//
//   - the EventData and UserData names exactly as Windows renders them
//     (CommandLine, Image, TargetUserName, …);
//   - the System fields flattened with an underscore where Windows nests them
//     (EventID, Channel, Computer, Provider_Name, Provider_Guid,
//     EventRecordID, Level, Task, Opcode, Keywords, Version,
//     Execution_ProcessID, Execution_ThreadID, Security_UserID);
//   - the ECS names (event.code, host.name, user.name, process.command_line,
//     process.executable, source.ip, winlog.channel, …).
//
// Values are string, int64, float64, bool, []string or nil only.
package winevt
