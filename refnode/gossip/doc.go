// Package gossip is the pure core of MASQ-style neighborhood gossip (issue 5): the neighborhood
// database, the gossip acceptor and producer, malefactor bans and route computation. It does
// no I/O, starts no goroutines, reads no clock and draws no random numbers: the caller passes
// the time in and sends the messages a Result lists. Rule numbers below are those of
// shared/reference/rulebook.md; "settlement N" is its "How sskit settles those disagreements".
//
// # Gossip body
//
// A gossip body is, big-endian:
//
//	offset  size  field
//	0       2     count n: u16, at least 1
//	2       2     length L of record 1: u16, 107..8285 (record.MinSize..record.MaxSize)
//	4       L     record 1: a signed record in the layout of package record
//	...           length and bytes of records 2..n
//
// The records are in strictly increasing bytewise order of name, so a name appears at most once
// and each list of records has exactly one encoding. Nothing follows the last record, and the
// whole body is at most 65495 bytes (MaxBodySize, the largest frame body). DecodeGossip rejects
// anything else, and any record that record.View.Decode rejects, without checking signatures;
// given room for the views it allocates nothing.
//
// The body carries no type: the receiver classifies it by content (rule 51). A failure (rule 58)
// is a separate kind of message whose body is one byte, the FailureReason (1 no neighbors, 2 no
// suitable neighbors, 3 manual rejection, 4 unknown). The node layer maps KindGossip and
// KindFailure to two frame types.
//
// # Two forms of a record, because records sign their addresses
//
// The record layout signs the address, so a relay cannot strip it, yet rule 84 allows an
// address only to be revealed to the node's neighbors. A node therefore signs each version of
// its own record twice, in forms that differ only in the address: concealed (no address) and
// addressed. Standard gossip carries the concealed form of the sender's own record, which
// anyone may relay. The addressed form goes only where the receiver must reach the node: a
// Debut, a debut back and the introducer in an Introduction. The database keeps, for each
// node, the newest record seen in either form, its concealed form at that version when held,
// and separately the newest addressed record the node signed, which may be older. A Pass or an
// Introduction carries that addressed record. An address, once known, never changes by
// gossip (rule 77).
//
// # Rules implemented
//
// Classification (rule 51), with names in place of IPs because the handshake proves the
// sender's name. Standard takes whatever is left, so nothing is rejected as unclassifiable:
//   - Debut: one record, the sender's own, not in the database, with an address or not
//     accepting connections (rule 52). An address on a node that does not accept connections is
//     Malformed. A sender's record known already is Standard (rule 53). A lone concealed record
//     of an accepting sender is Standard too, not a malformed Debut: it is how Standard gossip
//     carries the sender.
//   - Pass: one record that is not the sender's. Without an address it is Malformed (rule 60).
//     Standard gossip always carries the sender's record, so it is never one record about
//     someone else.
//   - Introduction: two records, the sender's and another, both with addresses, the other not in
//     the database (rules 63, 64). If the other is known or has no address, or neither record is
//     the sender's, the gossip is Standard. The Malformed cases of rule 64 are the checks below
//     that apply to every gossip: the introducer has my key, claims my address, or shares the
//     introducee's. A port cannot be missing in this record layout.
//   - Standard: anything else (rule 68).
//
// Acceptance:
//   - Debut, rules 54 to 58. Step 1 passes the debutant to the full neighbor that accepts
//     connections, is neither the debutant nor listed by it, has degree 3 or more, and has the
//     lowest such degree, if that degree is below mine. Otherwise, below degree 5, step 2 stores
//     the debutant, lists it (version +1) and answers with an Introduction to the
//     least-connected suitable full neighbor. If the debutant already lists neighbors, it gets
//     Standard gossip instead (rule 56). If nobody suits, it gets a debut back: my record alone
//     (rule 57). At degree 5, step 3 passes the debutant to the least-connected neighbor, half
//     neighbors included. If nobody suits it sends a NoSuitableNeighbors failure. Only nodes
//     whose addressed record is held can be passed or introduced. Ties go to the lower name.
//     Neighbors are ranked by placement degree (SPEC.md NB-5, an addition to MASQ): the degree
//     their record shows plus the debutants this node sent them, in a Pass or an Introduction,
//     since that record, until 1 s after the last. Without it, debutants that arrive together
//     all go to the neighbor the records rank first. Whether a neighbor has degree 3 or more,
//     and whether every neighbor is full so that a link is split, go by the records alone.
//   - Pass, rules 61 and 62. The answer is a Debut to the target, and the database stays
//     unchanged. The pass-loop guard ignores a target passed within 60 s, refreshing its time,
//     and a target to which a Debut is in progress. A banned target or a current neighbor is
//     ignored too.
//   - Introduction, rules 65 to 67. The introducer is stored if it is new or newer, and listed
//     if it is not listed already (version +1 only then). The introducee gets a Debut and is not
//     stored; only its signed address is kept. At degree 5 the Introduction is ignored. An
//     introducer whose address differs from the one it signed before is banned.
//   - Standard, rules 68 to 75. A record is stored only if it is new or has a strictly higher
//     version; the exact signed bytes are kept (rules 75 and 78). The record of an unknown node
//     with an address is dropped unless it is the sender's (rule 71). A relayed record that
//     changes its node's address, or that differs from a stored record of the same version, is
//     skipped and the relay is not blamed (rule 77). The sender becomes my neighbor (version +1)
//     if its record lists me and my degree is below 5 (rule 73). Neighbor names without records
//     are legal (rule 74). Only when something changed do my neighbors get Standard gossip.
//   - After any change to the database, each listed neighbor gets custom Standard gossip. The
//     exception is the target of a Debut's own reply (Introduction or debut back).
//
// Degree (settlement 7) is the number of neighbors a node's own record lists, full and half
// alike. That one count is used everywhere: for my degree limit of 5 (Debut step 2, Introduction,
// rule 73) and for neighbors' degrees in Debut placement. MASQ's half-neighbor exception
// (settlement 7 quoting rule 73's misleading test name) does not apply: 5 half neighbors do
// block. For my own limit, each of my Debuts in progress to a node not yet listed also holds
// one place, until it is answered or expires after 60 s; the answer itself may take its held
// place.
//
// Additions to MASQ that keep concurrent debuts from leaving half links or cut-off nodes. Each
// was found by the shuffled-link simulation; half links that never complete hold places for
// good:
//   - Held places, as above. Without them, a newcomer fills up with debutants passed to it while
//     the answer to its own Debut, often its only link to the rest, is on its way.
//   - A Debut whose record already lists me is another node's debut back, answering my own
//     Debut. It is never passed on (MASQ would run step 1 on it). I list the sender if I have
//     room; otherwise I ignore it.
//   - A node with no room ignores a Pass. After an Introduction takes a place, the introducee
//     gets a Debut only if another place is left.
//   - A half neighbor whose own record lists 5 neighbors, none of them me, can never complete the
//     link. It is withdrawn (version +1, gossiped), assuming other nodes use my limit.
//   - The first concealed copy of a version held only in addressed form counts as a change and
//     is gossiped on, because it can now go to nodes that could not be sent the addressed form.
//
// Versions (rules 75, 76; settlement 6): the own record starts at version 1 (Config.FirstVersion
// for a restart) and every change adds exactly 1 and re-signs both forms.
//
// Production (rules 84 to 87): one custom gossip per listed neighbor (Broadcast, Gossip). It
// never carries the target's own record (rule 69). It carries my record in its concealed form
// and every other record that some record lists (rule 85). Another node's record goes
// concealed; if only its addressed form is held, it goes only to targets that list that node
// and only if the node accepts connections (rule 84), and otherwise it is left out. If the
// records would not fit in MaxBodySize, some are left out; my own always fits. No gossip is
// made for a target without a record (rule 86). With Config.DeferStandard the body is made when
// the runtime sends the gossip (StandardBody): what it carries is then what stands at that
// moment, as SPEC.md NB-4 says of paced gossip. Cull drops records nobody lists after a 30 s
// grace, at most every 60 s, not recursively (rule 85). Disconnect withdraws a link, forgets
// the address the node signed, and gossips the change (rule 87).
//
// No tattling (rule 81): a body holds only signed records, so all A can say about C is C's own
// record, or A's withdrawal of its link to C.
//
// Malefactors (rules 79 to 82, settlement 5). Accept checks the whole gossip before it changes
// anything. It bans the sender, with a reason in Result.Ban, for:
//   - gossip that does not decode (ErrMalformed);
//   - a bad signature on the sender's own record (ErrBadSignature) or on a relayed one
//     (ErrTamperedRecord; rule 80 only discards such gossip, settlement 5 bans);
//   - the target's own record in the gossip (ErrYouDontKnowMe, rule 69);
//   - the sender's own record with an address whose IP is not the one its packets come from
//     (ErrNotSendersAddress). Only the IP is compared, as in MASQ, since the source port need
//     not be the listening port;
//   - a record claiming my address, or two records claiming one address (ErrClaimsMyAddress,
//     ErrDuplicateAddress, rule 70). Here IP and port are compared, so nodes sharing an IP are
//     not taken for one another;
//   - the sender's own record changing the address it signed before (ErrImmutableChanged, rules
//     67 and 77);
//   - the sender's own record going below a version the sender itself sent on the current link
//     (ErrVersionBackwards). It is tracked per link, not against the stored version, because a
//     newer copy relayed by a third node may overtake the sender's own message;
//   - the Malformed Debut and Pass cases (ErrDebutAddrNoAccept, ErrPassWithoutAddress).
//
// A signature is checked once per byte string: a record whose bytes equal a held record, or one
// of the last 4 older versions of that node whose signatures verified, is not checked again,
// since records are signed whole. Neighbors relay versions the receiver has gone past while a
// network converges; checking those again made convergence CPU-bound.
//
// A ban removes the sender's record and address, withdraws my link to it (version +1) and
// returns Standard gossip that shows the disconnection. The ban is recorded for good: later
// gossip from the banned name is Refused unread, its records are ignored whoever relays them,
// and it is on no route (rule 82). The handshake check belongs to the node, through Banned.
// Bans restored from a data directory go back in with Ban.
//
// Routes (rules 83, 88 to 90). Route uses full-neighbor links only. A route has at least
// minHops hops (default 3) and never repeats a node. Every node after the originator must accept
// connections, because it relays or exits. On routes of more than one hop, the exit must not
// list the originator. Route returns the shortest such route, first in name order, and
// otherwise an error wrapping ErrNoRoute that says why. Detours longer than the shortest path
// are searched up to MaxHops (6, MASQ's largest Hops).
//
// # Rules not implemented, and why
//
//   - 59 (a debutant whose every Debut failed shuts down): node behaviour; PendingDebuts and
//     Result.Failure give the node what it needs to decide. Under concurrency, stale degrees
//     can steer a Pass walk into the loop guard, so a node left with no neighbors and no Debut
//     in progress should debut again later, rather than stop; the simulation does that.
//   - 72 (patch filter: use only records within 3 hops): the done-criterion of issue 5 is that
//     every node knows every other node's record, which the filter would prevent in a network
//     wider than 3 hops.
//   - 89's "routes data" flag and 91 and 92 (fees, exit penalties, consuming wallets): the
//     record has no rate pack, wallet or routes-data flag. Accepting connections stands in for
//     routing data: an originate-only node neither relays nor exits.
//   - 77's rate pack: records have none. The name cannot change, since it is the signing key.
//   - Rules 1 to 50 belong to other packages.
//
// A DB is not safe for concurrent use. The node serialises calls, and calls Disconnect whenever
// a link closes or is replaced, so that per-link tracking starts afresh.
package gossip
