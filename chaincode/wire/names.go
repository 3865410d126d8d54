package wire

// The chaincode's name as deployed, and every contract and transaction name
// the gateway calls: one place, so a rename shows up as a compile error on
// both sides instead of a runtime "function not found".
const (
	// Chaincode is the name scripts/chaincode.sh deploys the chaincode as.
	Chaincode = "ledgerguard"
	// Channel is the development and test networks' channel.
	Channel = "lgchannel"
)

// Contract names, as each contract registers itself.
const (
	ContractSystem     = "system"
	ContractConsortium = "consortium"
	ContractEvents     = "events"
	ContractAlerts     = "alerts"
	ContractPolicies   = "policies"
	ContractResponses  = "responses"
	ContractModels     = "models"
	ContractHygiene    = "hygiene"
	ContractIntel      = "intel"
)

// Transaction names of the system contract.
const (
	TxPing         = "Ping"
	TxHeartbeat    = "Heartbeat"
	TxGetHeartbeat = "GetHeartbeat"
)

// Transaction names of the consortium contract.
const (
	TxInitMembers             = "InitMembers"
	TxGetMembers              = "GetMembers"
	TxProposeMembershipChange = "ProposeMembershipChange"
	TxApproveMembershipChange = "ApproveMembershipChange"
	TxGetMembershipChange     = "GetMembershipChange"
)

// Transaction names of the events contract.
const (
	TxAnchorBatch      = "AnchorBatch"
	TxGetBatch         = "GetBatch"
	TxListBatches      = "ListBatches"
	TxLatestCheckpoint = "LatestCheckpoint"
)

// Transaction names of the alerts contract.
const (
	TxRaiseAlerts       = "RaiseAlerts"
	TxUpdateAlertStatus = "UpdateAlertStatus"
	TxGetAlert          = "GetAlert"
	TxGetAlertHistory   = "GetAlertHistory"
	TxListAlerts        = "ListAlerts"
)

// Transaction names of the policies contract.
const (
	TxProposePolicy    = "ProposePolicy"
	TxApprovePolicy    = "ApprovePolicy"
	TxRevokePolicy     = "RevokePolicy"
	TxGetPolicy        = "GetPolicy"
	TxListPolicies     = "ListPolicies"
	TxGetPolicyHistory = "GetPolicyHistory"
)

// Transaction names of the responses contract.
const (
	TxApproveResponse = "ApproveResponse"
	TxRecordOutcome   = "RecordOutcome"
	TxRecordOutcomes  = "RecordOutcomes"
	TxRequestRollback = "RequestRollback"
	TxGetResponse     = "GetResponse"
	TxGetResponses    = "GetResponses"
	TxListResponses   = "ListResponses"
)

// Transaction names of the models contract.
const (
	TxRegisterModel   = "RegisterModel"
	TxApproveModel    = "ApproveModel"
	TxRevokeModel     = "RevokeModel"
	TxGetModel        = "GetModel"
	TxListModels      = "ListModels"
	TxGetModelHistory = "GetModelHistory"
)

// Transaction names of the hygiene contract. It holds suppression and
// dedup rules and organisation caps.
const (
	TxProposeHygieneRule    = "ProposeRule"
	TxApproveHygieneRule    = "ApproveRule"
	TxRevokeHygieneRule     = "RevokeRule"
	TxGetHygieneRule        = "GetRule"
	TxListHygieneRules      = "ListRules"
	TxGetHygieneRuleHistory = "GetRuleHistory"
	TxSetOrgCaps            = "SetOrgCaps"
	TxGetOrgCaps            = "GetOrgCaps"
)

// Transaction names of the intel contract.
const (
	TxShareIndicators      = "ShareIndicators"
	TxStoreIndicatorValues = "StoreIndicatorValues"
	TxRevokeIndicator      = "RevokeIndicator"
	TxPurgeIndicator       = "PurgeIndicator"
	TxReportSightings      = "ReportSightings"
	TxGetIndicator         = "GetIndicator"
	TxGetIndicators        = "GetIndicators"
	TxListIndicators       = "ListIndicators"
	TxGetSightings         = "GetSightings"
)
