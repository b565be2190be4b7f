// Package mutant switches on deliberate defects in refnode, for proving that the conformance
// suite catches them. Only a binary built with -tags mutants has any; in the default build every
// check is the constant false and compiles away.
//
// A defect sits in refnode's code, at the place where a real implementation would get it wrong,
// behind a check of its name:
//
//	if mutant.Is("pong-wrong-id") {
//		id++
//	}
//
// A check inside a closure that another package inlines may keep a call to Is there; write
// mutant.Enabled && mutant.Is(name) in such a place, which the compiler drops before inlining.
//
// refnode built with -tags mutants takes --mutant NAME (or SSKIT_MUTANT) to switch one on, and
// --list-mutants to print All as JSON. A mutant is killed when the conformance suite, run against
// a node with it switched on, fails, with the rule in Breaks among the failed ones. Most mutants
// here are killed without depending on timing; those of rules about time (TRN-3's probe, TRN-7,
// TRN-8, WIRE-12, NB-11's prompt withdrawal) are told apart by margins of half a second or more.
package mutant

// Mutant is one deliberate defect.
type Mutant struct {
	Name        string `json:"name"`        // what --mutant takes
	Area        string `json:"area"`        // the SPEC.md section it breaks, by its rule prefix: ID, TRN, WIRE, MSG, ERR, NC, ADM, ST or NB
	Breaks      string `json:"breaks"`      // the rule the defect breaks, a SPEC.md rule ID such as WIRE-2
	Description string `json:"description"` // what the node does wrong
}

// All lists every mutant, by SPEC.md section.
var All = []Mutant{
	// 1. Identity
	{"lowercase-names-only", "ID", "ID-1", "a name in text is read only in lowercase hex, so a bootstrap peer named in uppercase is refused"},
	{"ignore-seed", "ID", "ID-3", "the key pair is made from random bytes instead of the seed, so the node has another name than its seed gives"},
	{"accept-wrong-name", "ID", "ID-5", "a node that dials does not pin the name it expects and talks to whoever answers"},
	{"accept-foreign-signature", "ID", "ID-6", "the self-signature of a peer's certificate is not checked, so the acceptor takes a certificate signed by another key"},
	{"any-alpn", "ID", "ID-7", `the acceptor also accepts ALPN "h3"`},
	// 2. Transport
	{"second-stream-allowed", "TRN", "TRN-2", "the acceptor allows a dialer 2 bidirectional streams instead of 1"},
	{"reset-stream-ignored", "TRN", "TRN-2", "a peer's RESET_STREAM only stops the node reading and its STOP_SENDING only fails the node's next write: the connection stays open instead of being closed with PROTOCOL_VIOLATION"},
	{"keep-old-connection", "TRN", "TRN-3", "when the same peer dials again, the new connection is closed as the duplicate instead of the old one"},
	{"tiebreak-inverted", "TRN", "TRN-3", "of two connections dialed by both ends, the one dialed by the higher name is kept"},
	{"dead-duplicate-kept", "TRN", "TRN-3", "of two connections dialed by both ends, the one the name tie-break keeps is kept without a probe even when it is left over from a previous instance of the peer, so a peer that comes back after a kill is refused with DUPLICATE_CONNECTION until the dead connection's idle timeout (10 s)"},
	{"shutdown-no-error", "TRN", "TRN-5", "on a graceful shutdown connections are closed with NO_ERROR instead of SHUTDOWN"},
	{"late-response-closes", "TRN", "TRN-7", "a response that arrives after its request timed out closes the connection with PROTOCOL_VIOLATION instead of being dropped"},
	{"no-dial-retry", "TRN", "TRN-8", "a dial that fails is given up at once instead of being tried again, up to 3 attempts 100 ms apart"},
	// 3. Framing
	{"oversize-accepted", "WIRE", "WIRE-2", "the frame reader allows lengths up to 1 MiB, and then waits for a body that never comes (until WIRE-12 closes the stalled frame with FRAME_TRUNCATED)"},
	{"truncated-as-malformed", "WIRE", "WIRE-4", "a stream that ends inside a frame closes the connection with MALFORMED instead of FRAME_TRUNCATED"},
	{"unknown-type-ignored", "WIRE", "WIRE-5", "a frame of a type not in the catalogue is ignored instead of closing the connection with UNKNOWN_TYPE"},
	{"pong-wrong-id", "WIRE", "WIRE-7", "a PONG carries the number of PINGs answered on the connection (1, 2, 3, ...) instead of the PING's message id, which goes unnoticed by a peer that numbers its requests from 1"},
	{"answer-witness-request", "WIRE", "WIRE-9", "a WITNESS_REQUEST is answered with a WITNESS instead of being ignored"},
	{"stableset-field-zero", "WIRE", "WIRE-10", "the stableset field of every frame the node sends is all zeros instead of its stableset id"},
	{"stableset-id-over-names", "WIRE", "WIRE-10", "the stableset id is SHA-256 over the members' names alone, as before version 15, instead of over each name with its ordinal"},
	{"wrong-answer-accepted", "WIRE", "WIRE-11", "a response of the wrong type for a request is taken as its answer instead of a protocol violation"},
	{"stall-clock-between-frames", "WIRE", "WIRE-12", "the frame clock keeps running after a frame ends, so a connection that is merely quiet between frames is closed with FRAME_TRUNCATED 5 s after its last frame"},
	{"stalled-frame-kept", "WIRE", "WIRE-12", "a frame that stops arriving halfway is waited for without limit: a peer that sends part of a frame and falls silent holds its connection open for ever, kept alive by the node's own keep-alives, instead of being closed with FRAME_TRUNCATED 5 s after the frame's first byte"},
	// 4. Message catalogue
	{"port-zero-accepted", "MSG", "MSG-2", "a Member whose port is 0 decodes instead of being malformed"},
	{"stableset-order-unchecked", "MSG", "MSG-4", "the lists of a STABLESET need not be in strictly increasing order, so out-of-order and repeated entries decode"},
	// 5. Error codes
	{"malformed-as-protocol-violation", "ERR", "ERR-1", "a body that breaks its layout closes the connection with PROTOCOL_VIOLATION instead of MALFORMED"},
	{"unknown-close-ends-all", "ERR", "ERR-2", "a peer's close with a code the node does not know is taken as fatal: the node closes its QUIC endpoint, every connection and the listener"},
	// 6. Node contract
	{"silent", "NC", "NC-4", "the node writes no log line at all, to standard output or standard error"},
	{"bad-settings-exit-1", "NC", "NC-6", "settings the node cannot use make it exit with code 1 instead of 2"},
	// 7. Admin API
	{"spec-version-1", "ADM", "ADM-2", `GET /v1/node reports spec_version "15" (the previous version) instead of "16"`},
	{"stableset-ordinal-1", "ADM", "ADM-3", "GET /v1/stableset reports the node alone with ordinal 1 instead of 0"},
	{"counters-miss-pong", "ADM", "ADM-4", "PONGs the node sends are not counted in sent"},
	{"peer-close-counted-in-reader", "ADM", "ADM-4", "a peer's close is counted only while the node reads the stream: a close before the stream is accepted is not counted, and the peer's NO_ERROR close after an orderly end (WIRE-4) is counted as the node's own"},
	{"admin-errors-as-200", "ADM", "ADM-5", "a request for an unknown path is answered with the JSON error body but status 200 instead of 404"},
	{"sections-404", "ADM", "ADM-7", "GET /v1/sections answers 404 not_found, as if the path were unknown, instead of the node's sections"},
	{"changed-never-moves", "ADM", "ADM-12", "GET /v1/neighborhood's changed stays at the time the node started, whatever it stores or drops later"},
	// 8. Stableset consensus
	{"quorum-of-one", "ST", "ST-3", "a change is applied as soon as one elder witnessed it, instead of a strict majority of the elders"},
	{"majority-rounds-up", "ST", "ST-3", "the majority is computed as (n+1)/2+1, the same as a strict majority for an even number of elders but one too many for an odd number: 3 elders need all 3"},
	{"silent-member-kept", "ST", "ST-7", "an elder never witnesses the leave of a member that has gone silent, only of one that asked to leave"},
	{"member-invites", "ST", "ST-9", "an elder witnesses the join of a node that never asked when any member, not only an elder, asks it about it, so one member can have made-up names admitted"},
	{"tell-elders-twice", "ST", "ST-9", "an elder sends each WITNESS_REQUEST it makes to another elder twice"},
	{"repeated-witness-counted", "ST", "ST-2", "witnesses are kept as a list, not a set: the same elder's witness sent twice counts twice towards the majority"},
	{"stranger-witness-recorded", "ST", "ST-2", "a WITNESS_REQUEST from a node that is not a member is recorded as a witness, and an elder witnesses the join it names and answers"},
	{"member-witness-counted", "ST", "ST-3", "the witnesses of every member count towards the strict majority, not only the elders'"},
	{"leave-by-name", "ST", "ST-1", "a leave is live whenever its name is a member, whatever the ordinal: witnesses of a leave of an older instance remove the present one"},
	{"witness-any-leave", "ST", "ST-9", "an elder witnesses every leave another member asks it about, also of a member that did not ask and is not silent"},
	{"ordinal-above-members", "ST", "ST-5", "a joiner gets the ordinal one above the present members', so an instance that left has its ordinal given again"},
	{"turned-away-joiner-dropped", "ST", "ST-5", "a joiner that asks while the elder takes another join is dropped, left to ask again after its retry interval, instead of being held and taken up as soon as that join applies"},
	{"concurrent-joins", "ST", "ST-5", "an elder takes every join at once, instead of at most 8 at a time"},
	{"small-stableset-concurrent-joins", "ST", "ST-5", "an elder of a stableset with fewer members than elder_size takes 8 joins at once, instead of one at a time"},
	{"concurrent-joins-share-ordinal", "ST", "ST-5", "an elder that takes several joins at once gives each the ordinal one above every ordinal applied, so they share it, instead of giving each its own"},
	{"announcements-wait-for-quiet", "ST", "ST-10", "an elder holds its announcements to the members until no change it witnessed is pending, however long that takes, instead of sending them within 200 ms"},
	{"joiner-follows-lone-stableset", "ST", "ST-5", "a joiner that receives a STABLESET listing only its sender, a node it is not asking, asks that node to let it in instead of its bootstrap peers"},
	{"subject-waits-to-be-heard", "ST", "ST-10", "an elder that applies a change whose subject has not spoken to it lately waits for the subject to speak before sending it the stableset, however long that takes, instead of sending it within 200 ms"},
	{"gossip-merges-own-versions", "NB", "NB-4", "a newer Standard gossip replaces an older one still queued for the target even when they carry different versions of the own record, so a neighbor may never see a version that listed or withdrew a node"},
	{"gossip-pace-unbounded", "NB", "NB-4", "a node sends a target at most one Standard gossip a second, so a change may wait a second to reach a neighbor (NB-4 allows 200 ms)"},
	{"announce-to-subject-only", "ST", "ST-10", "an elder that applies a change sends its stableset to the change's subject only, not to the members that are not elders (they learn of it only by anti-entropy)"},
	{"promotion-waits", "ST", "ST-4", "when an elder leaves, the next eldest member becomes an elder only at the next join, not at once"},
	{"view-lists-heard", "ST", "ST-6", "a STABLESET lists every pending change, also those the sender only heard of from others, so the receiver counts the sender as a witness of what it never witnessed"},
	{"log-misses-answers", "ST", "ST-12", "the WITNESS frames an elder answers with are not counted in its decision log, so GET /v1/decisions under-reports what a decision cost"},
	{"lacking-stableset-unanswered", "ST", "ST-8", "a STABLESET that lacks a member the node applied is not answered with the node's own"},
	{"joiner-trusts-one", "ST", "ST-5", "a joiner takes the first stableset that lists it from one of that stableset's elders, instead of waiting for a strict majority of them"},
	{"joiner-votes-any-stableset", "ST", "ST-5", "a joiner counts the elders that sent it any stableset listing it together, although they sent different ones"},
	{"sections-joins-one-at-a-time", "ST", "ST-5", "an elder in a network of sections takes one join at a time, as before version 15, instead of up to 8 at once"},
	{"stableset-votes-by-names", "ST", "ST-5", "a joiner counts the elders that sent it stablesets of the same names together, although they hold one name at two ordinals"},
	{"silence-witness-kept", "ST", "ST-7", "an elder that witnessed a member's leave because it was silent keeps that witness after it hears the member again, so old witnesses of a healed partition count, with later ones, towards removing a healthy member"},
	{"witnesses-never-lapse", "ST", "ST-13", "a witness recorded from another node stands until the change applies, however long ago its sender last said it, instead of lapsing 5 s after"},
	{"resay-to-lacking-only", "ST", "ST-9", "an elder says a pending change it witnesses again only to the elders it has not recorded as witnesses, so their record of its witness lapses (ST-13) while the change waits"},
	{"pending-unbounded", "ST", "ST-13", "witnesses from one sender are recorded for any number of pending changes, so one member's stablesets listing made-up joins grow the node without bound, instead of at most members + 16 per sender, the rest dropped and counted"},
	{"removed-stays-out", "ST", "ST-11", "a member that finds itself removed stops, as a node that left does, instead of joining again"},
	// 9. Neighborhood gossip
	{"gossip-never-bans", "NB", "NB-10", "gossip from a malefactor is dropped unread, as MASQ does, instead of banning its sender"},
	{"version-not-saved", "NB", "NB-2", "the own gossip record starts again at version 1 after a restart instead of above the last version signed"},
	{"ban-without-gossip", "NB", "NB-11", "a ban withdraws the malefactor from the own record but the change is not gossiped to the remaining neighbors: they learn of it only at the next periodic round (NB-14, 10 s later at most)"},
	{"trailing-bytes-accepted", "NB", "NB-1", "a gossip body with bytes after its last record decodes, the extra bytes ignored, instead of being invalid gossip whose sender is banned"},
	{"version-backwards-across-links", "NB", "NB-10", "the versions of a sender's own record are compared across its connections, not within one: a lower version on a newer connection (frames of two connections between one pair, read side by side, arrive in either order) gets an honest sender banned"},
	{"equal-version-replaces", "NB", "NB-3", "a record at the same version as the one held but with other contents (another neighbor list) replaces the held one, as if versions were compared with >= instead of >, and its sender is not blamed"},
	{"addresses-to-all", "NB", "NB-4", "Standard gossip relays a record held only in its addressed form to every target, revealing the address to nodes whose record does not list that record's node (and whether or not that node accepts connections), instead of only to targets that list it when it accepts connections"},
	{"known-debut-ignored", "NB", "NB-5", "a Debut (the sender's own record alone, with its address) from a node whose record the node already holds, relayed by the neighbor that took it, is read as Standard gossip, as MASQ does: it changes nothing and goes unanswered, so the debutant holds a place for it for 60 s and is not placed"},
	{"debutant-with-neighbor-introduced", "NB", "NB-5", "below the degree limit, a debutant whose record lists a neighbor already (answering an Introduction or a Pass) is introduced to another neighbor, as a debutant with none is, instead of being answered with Standard gossip alone"},
	{"pass-highest-name", "NB", "NB-5", "among the suitable neighbors of equal lowest degree, a Pass (and an Introduction) names the one with the highest name instead of the lowest"},
	{"placement-by-record-alone", "NB", "NB-5", "debutants are placed by the degrees the held records show alone: one sent on to a neighbor does not count towards that neighbor's degree, so debutants that arrive one after another at the degree limit all get a Pass to the same neighbor"},
	{"saturated-passes-on", "NB", "NB-5", "at the degree limit, when every neighbor that suits is at the limit too, the node passes the debutant on instead of splitting a link for it"},
	{"bridge-split", "NB", "NB-5", "at the degree limit, with every neighbor that suits at the limit too, the node splits the link to its least-connected full neighbor even when the records it holds show no other path to that neighbor, so a link that may be the only bridge between two parts of the network is split"},
	{"introducee-stored", "NB", "NB-6", "the introducee's record in an Introduction is stored as if it had come in Standard gossip, so the node holds it (GET /v1/neighborhood lists it) and relays it to the nodes that list the introducee, instead of keeping only its address for the Debut"},
	{"pass-loop-unguarded", "NB", "NB-6", "a Pass naming a node that a Pass named within the last 60 s makes the node debut to it again: the 60 s pass-loop guard is off (only a Debut to that node still in progress blocks another)"},
	{"stranger-address-kept", "NB", "NB-7", "a relayed record (not the sender's own) of a node the receiver knew nothing of that carries an address is stored instead of dropped"},
	{"degree-limit-6", "NB", "NB-8", "the degree limit is one above the configured one (6 by default): a node at degree 5 still lists a debutant, an introducer or a sender whose record lists it, instead of passing the debutant on or ignoring them"},
	{"gossip-within-2-hops", "NB", "NB-9", "Standard gossip carries, besides the own record, only the records of nodes within 2 hops (the nodes the own record lists and the nodes their records list) instead of every held record some held record lists, so a node learns only of nodes at most 3 hops from it: in a network more than 3 hops across, as 12 nodes debuting through one make, distant nodes never hold each other's records (or not their current versions)"},
	{"link-kept-on-close", "NB", "NB-12", "when a neighbor's connection ends and no other connection takes over, the node forgets the link's state but the neighbor stays listed in its own record, and no withdrawal is gossiped"},
	{"records-unbounded", "NB", "NB-15", "relayed records of unknown nodes are stored whatever the node holds already, so one neighbor relaying made-up records grows the node without bound (MASQ's behaviour), instead of being dropped and counted once 1000 records of other nodes are held"},
	{"route-half-links", "NB", "NB-13", "routes (GET /v1/route) also run over half links: the route graph links two nodes when either one's record lists the other, instead of only when each lists the other"},
	// 10. Sections
	{"list-without-quorum", "SEC", "SEC-3", "a top-20 list is taken from any single sender that is one of its elders, instead of a majority of a group the held list vouches for"},
	{"no-redirect", "SEC", "SEC-5", "a join request from a node of another section is ignored instead of answered with that section's list"},
	{"list-votes-by-age", "SEC", "SEC-3", "senders of lists of one section and one age are counted together although the lists differ, so 3 elders sending 2 different lists make one accepted"},
	{"outsider-list-counted", "SEC", "SEC-3", "a sender of a list counts towards the majority although it is in neither group, so 3 nodes with the section's prefix outside the held list replace it"},
	{"list-goes-back", "SEC", "SEC-4", "a list no newer than the held one is counted like a newer one, so a majority of the elders can move a section's list back"},
	{"foreign-join-witnessed", "SEC", "SEC-1", "an elder witnesses the join of a name of another section when a member asks about it, so a stableset takes names of another section"},
	{"joiner-takes-any-list", "SEC", "SEC-6", "a joiner acts on a SECTION_LIST from any node, not only from a peer it asked: a stranger of another section can make it found a section of its own"},
	{"senders-are-elders", "SEC", "SEC-7", "GET /v1/sections reports a list's elders as its senders, instead of the names whose lists made it accepted (none for a first contact)"},
	{"joiner-drops-lists", "SEC", "SEC-2", "a joiner drops the other sections' lists that the peer it asked passes on, so it learns of them only from the next lists the other sections send (every 10 s)"},
	{"any-member-votes-loss", "SEC", "SEC-8", "the elder-loss vote of any member of the section counts, not only the acting elders', so members that are not acting elders can remove the elders"},
	{"elder-loss-echoed", "SEC", "SEC-8", "an elder confirms another section's elder loss without having gone unanswered by those elders itself"},
	{"elder-loss-never", "SEC", "SEC-8", "acting elders never vote for the loss of elders they cannot hear, so a section that lost all its elders stays without any"},
}
