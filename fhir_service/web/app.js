// The shared care-plan page: the case manager's caseload, a person's plan, "my plan" to
// print. Plain ES modules, no framework, no build step. Data is put in the page with
// textContent only (never as HTML).
import { authenticationOff, completeSignIn, fhir, search, session, signOut, SignInNeeded, startSignIn } from "./fhir.js";
import { formatDate, language, setLanguage, statusWord, t } from "./i18n.js";

const CS = "https://interop.cm-sante-mentale.fr/fhir/CodeSystem/";
const SD = "https://interop.cm-sante-mentale.fr/fhir/StructureDefinition/";
const SYSTEMS = ["cm-life-domain", "cm-care-pillar", "cm-team-function", "cm-programme", "cm-indicator", "cm-episode-outcome", "cm-rupture-kind"].map((c) => CS + c);
const IG = "https://interop.cm-sante-mentale.fr/fhir/";
// the guide's indicators (Measures), evaluated by the server through the signed-in
// practitioner's door: the page draws what $evaluate-measure answers, nothing computed here
const MEASURES = ["cm-caseload", "cm-referral-delay", "cm-goals-by-domain", "cm-ruptures", "cm-hospitalisations", "cm-episode-outcomes"];
const SVG = "http://www.w3.org/2000/svg";
const main = document.getElementById("main");
let labels = null; // system|code -> {fr, en}, and the order of each CodeSystem's concepts
let authOff = false;

// --- small helpers -------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function show(...nodes) {
  main.replaceChildren(...nodes);
  main.focus();
}

const today = () => new Date().toISOString().slice(0, 10);
const refId = (ref) => (ref?.reference || "").split("/").pop();
const refType = (ref) => (ref?.reference || "").split("/").slice(-2, -1)[0];

function nameOf(resource) {
  if (!resource) return "";
  if (resource.resourceType === "Organization") return resource.name || "";
  const name = (resource.name || [])[0];
  if (!name) return "";
  return name.text || [...(name.given || []), name.family || ""].join(" ").trim();
}

function label(concept) {
  if (!concept) return "";
  for (const coding of concept.coding || []) {
    const known = labels?.codes.get(`${coding.system}|${coding.code}`);
    if (known) return known[language()] || known.fr;
  }
  return concept.text || (concept.coding || []).map((c) => c.display).find(Boolean) || "";
}

function codeIn(concept, system) {
  return (concept?.coding || []).find((c) => c.system === system)?.code;
}

async function loadLabels() {
  if (labels) return;
  labels = { codes: new Map(), order: new Map() };
  let systems = [];
  try {
    systems = await search(`CodeSystem?url=${SYSTEMS.map(encodeURIComponent).join(",")}&_count=20`, 1);
  } catch (error) {
    if (error instanceof SignInNeeded) throw error;
  }
  for (const system of systems) {
    (system.concept || []).forEach((concept, index) => {
      const english = (concept.designation || []).find((d) => (d.language || "").startsWith("en"));
      labels.codes.set(`${system.url}|${concept.code}`, { fr: concept.display, en: english?.value || concept.display });
      labels.order.set(`${system.url}|${concept.code}`, index);
    });
  }
}

function ordered(system, codes) {
  const rank = (code) => labels.order.get(`${system}|${code}`) ?? 999;
  return [...codes].sort((a, b) => rank(a) - rank(b));
}

function index(resources) {
  const byRef = new Map();
  for (const r of resources) byRef.set(`${r.resourceType}/${r.id}`, r);
  return byRef;
}

function telecom(...resources) {
  for (const r of resources) {
    const items = (r?.telecom || []).filter((c) => c.value);
    if (items.length) return items.map((c) => c.value).join(", ");
  }
  return "";
}

// --- sign-in and frame ---------------------------------------------------------------------

function frame() {
  document.documentElement.lang = language();
  document.title = `${t("title")} — cm-fhir`;
  document.getElementById("brand").textContent = t("title");
  const lang = document.getElementById("lang");
  lang.textContent = t("other");
  lang.lang = language() === "fr" ? "en" : "fr";
  const out = document.getElementById("signout");
  out.textContent = t("signOut");
  const current = session();
  out.hidden = !current;
  document.getElementById("who").textContent = current?.user ? `${t("signedInAs")} ${current.user}` : "";
  document.getElementById("nav").replaceChildren(...(current || authOff
    ? [h("a", { href: "#/" }, t("caseload")), " ", h("a", { href: "#/indicators", id: "indicators-link" }, t("indicators"))]
    : []));
}

function signInView(message) {
  frame();
  show(h("section", {},
    h("h1", {}, t("title")),
    message ? h("p", { class: "error", role: "alert" }, message) : "",
    h("p", {}, t("signInIntro")),
    h("button", { type: "button", id: "signin", onclick: () => startSignIn() }, t("signIn"))));
}

// --- the caseload ----------------------------------------------------------------------------

function practitionerId() {
  const user = session()?.fhirUser || "";
  return user.includes("/Practitioner/") ? user.split("/").pop() : null;
}

async function caseloadView() {
  const me = practitionerId();
  const [patients, goals, episodes, contacts] = await Promise.all([
    search("Patient?_count=200"),
    search("Goal?_count=500"),
    search("EpisodeOfCare?_count=500"),
    search("Encounter?_count=500&_sort=-date").catch((e) => { if (e instanceof SignInNeeded) throw e; return []; }),
  ]);
  const managed = new Set(episodes.filter((e) => me && refId(e.careManager) === me
    && !["finished", "cancelled", "entered-in-error"].includes(e.status)).map((e) => refId(e.patient)));
  // (as the ruptures indicator: 60 days by default, the server's contact_gap_days)
  const days = Number(localStorage.getItem("cm-days") || 60);
  const limit = new Date(Date.now() - days * 86400000).toISOString().slice(0, 10);
  const now = today();
  const lastContact = new Map();
  // the last contact: an Encounter that took place (as the ruptures indicator counts it),
  // failing that the start of an open episode
  const contact = (who, when) => { if (when && (!lastContact.has(who) || lastContact.get(who) < when)) lastContact.set(who, when); };
  for (const encounter of contacts) {
    if (["planned", "cancelled", "entered-in-error"].includes(encounter.status)) continue;
    contact(refId(encounter.subject), (encounter.period?.start || "").slice(0, 10));
  }
  for (const episode of episodes) {
    if (!["finished", "cancelled", "entered-in-error"].includes(episode.status)) contact(refId(episode.patient), episode.period?.start);
  }
  const rows = patients.map((patient) => {
    const open = goals.filter((g) => refId(g.subject) === patient.id && !["completed", "cancelled", "entered-in-error", "rejected"].includes(g.lifecycleStatus)
      && !["achieved", "not-attainable"].includes(codeIn(g.achievementStatus, "http://terminology.hl7.org/CodeSystem/goal-achievement")));
    const dues = open.map((g) => g.target?.[0]?.dueDate).filter(Boolean).sort();
    return {
      patient, managed: managed.has(patient.id), next: dues.find((d) => d >= now),
      overdue: dues.filter((d) => d < now).length, contact: lastContact.get(patient.id),
    };
  }).sort((a, b) => (b.managed - a.managed) || nameOf(a.patient).localeCompare(nameOf(b.patient)));
  const input = h("input", { type: "number", id: "days", min: "1", max: "365", value: String(days),
    onchange: (event) => { localStorage.setItem("cm-days", String(Math.max(1, Number(event.target.value) || 30))); route(); } });
  const table = h("table", { class: "responsive", id: "caseload" },
    h("thead", {}, h("tr", {}, [t("person"), t("nextDate"), t("overdue"), t("lastContact")].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.map((row) => h("tr", { "data-patient": row.patient.id },
      h("td", { "data-label": t("person") }, h("a", { href: `#/person/${encodeURIComponent(row.patient.id)}` }, nameOf(row.patient) || row.patient.id),
        row.managed ? h("span", { class: "tag done" }, " ", t("caseManagerOf")) : ""),
      h("td", { "data-label": t("nextDate") }, row.next ? formatDate(row.next) : t("noneFem")),
      h("td", { "data-label": t("overdue") }, row.overdue ? h("span", { class: "tag late" }, String(row.overdue)) : "0"),
      h("td", { "data-label": t("lastContact") }, row.contact ? formatDate(row.contact) : t("never"),
        !row.contact || row.contact < limit ? h("span", { class: "tag warn" }, " ", t("withoutContact")) : "")))));
  show(h("section", {},
    h("h1", {}, t("caseload")),
    h("p", { class: "meta" }, t("caseloadIntro")),
    h("p", {}, h("label", { class: "inline", for: "days" }, t("noContactFor"), input, t("days"))),
    rows.length ? table : h("p", { id: "nobody" }, t("noPeople"))));
}

// --- a person's plan -----------------------------------------------------------------------

async function loadPerson(id) {
  const pid = encodeURIComponent(id);
  const [patient, goals, plans, teams, episodes, consents, ruptures] = await Promise.all([
    fhir(`Patient/${pid}`),
    search(`Goal?patient=${pid}&_count=200`),
    search(`CarePlan?patient=${pid}&_count=50`),
    search(`CareTeam?patient=${pid}&_include=CareTeam:participant&_include:iterate=PractitionerRole:practitioner&_include:iterate=PractitionerRole:organization&_count=50`),
    search(`EpisodeOfCare?patient=${pid}&_include=EpisodeOfCare:incoming-referral&_count=50`),
    search(`Consent?patient=${pid}&_count=50`),
    // ruptures recorded as events (Observation cm-rupture: a code of cm-rupture-kind)
    search(`Observation?patient=${pid}&code=${encodeURIComponent(`${CS}cm-rupture-kind|`)}&_count=100`),
  ]);
  const refs = index([patient, ...goals, ...plans, ...teams, ...episodes, ...consents]);
  // the people and structures named but not included: the directory, read as any client
  const missing = new Set();
  const want = (ref) => { const key = ref?.reference; if (key && !refs.has(key.split("/").slice(-2).join("/"))) missing.add(key.split("/").slice(-2).join("/")); };
  for (const g of goals) want(g.expressedBy);
  for (const p of plans) for (const a of p.activity || []) for (const perf of a.detail?.performer || []) want(perf);
  for (const c of consents) for (const actor of c.provision?.actor || []) want(actor.reference);
  for (const e of episodes) want(e.managingOrganization);
  const roles = [...missing].filter((k) => k.startsWith("PractitionerRole/"));
  const more = await Promise.all([...missing].map((key) => fhir(key).catch((e) => { if (e instanceof SignInNeeded) throw e; return null; })));
  for (const r of more) if (r) refs.set(`${r.resourceType}/${r.id}`, r);
  const second = new Set();
  for (const key of roles) { const role = refs.get(key); if (role) { for (const r of [role.practitioner, role.organization]) if (r && !refs.has(r.reference)) second.add(r.reference); } }
  for (const r of await Promise.all([...second].map((key) => fhir(key).catch(() => null)))) if (r) refs.set(`${r.resourceType}/${r.id}`, r);
  return { patient, goals, plans, teams: teams.filter((r) => r.resourceType === "CareTeam"), episodes: episodes.filter((r) => r.resourceType === "EpisodeOfCare"), consents,
    ruptures: ruptures.filter((r) => r.resourceType === "Observation" && r.status !== "entered-in-error"), refs };
}

function who(ref, data) {
  const target = data.refs.get((ref?.reference || "").split("/").slice(-2).join("/"));
  if (!target) return ref?.display || "";
  if (target.resourceType === "PractitionerRole") {
    const person = data.refs.get(target.practitioner?.reference);
    const org = data.refs.get(target.organization?.reference);
    return [nameOf(person), org ? `(${nameOf(org)})` : ""].filter(Boolean).join(" ");
  }
  return nameOf(target);
}

function goalsByDomain(data) {
  const system = `${CS}cm-life-domain`;
  const groups = new Map();
  for (const goal of data.goals) {
    const code = (goal.category || []).map((c) => codeIn(c, system)).find(Boolean) || "";
    if (!groups.has(code)) groups.set(code, []);
    groups.get(code).push(goal);
  }
  const codes = ordered(system, [...groups.keys()].filter(Boolean));
  if (groups.has("")) codes.push("");
  return codes.map((code) => ({ code, label: code ? label({ coding: [{ system, code }] }) : t("unknownDomain"), goals: groups.get(code) }));
}

function expressedBy(goal, data) {
  if (refType(goal.expressedBy) === "Patient" && refId(goal.expressedBy) === data.patient.id) return `${t("theperson")} (${nameOf(data.patient)})`;
  return who(goal.expressedBy, data);
}

function isOverdue(goal) {
  const due = goal.target?.[0]?.dueDate;
  const achievement = codeIn(goal.achievementStatus, "http://terminology.hl7.org/CodeSystem/goal-achievement");
  return Boolean(due && due < today() && !["completed", "cancelled", "rejected", "entered-in-error"].includes(goal.lifecycleStatus)
    && !["achieved", "not-attainable"].includes(achievement));
}

function activitiesByPillar(data) {
  const system = `${CS}cm-care-pillar`;
  const groups = new Map();
  for (const code of ordered(system, [...labels.order.keys()].filter((k) => k.startsWith(`${system}|`)).map((k) => k.split("|")[1]))) groups.set(code, []);
  for (const plan of data.plans.filter((p) => ["active", "draft", "on-hold"].includes(p.status))) {
    for (const activity of plan.activity || []) {
      const pillar = (activity.detail?.extension || []).find((x) => x.url === `${SD}cm-care-pillar`);
      const code = codeIn(pillar?.valueCodeableConcept, system) || "";
      if (!groups.has(code)) groups.set(code, []);
      groups.get(code).push(activity.detail || {});
    }
  }
  return [...groups.entries()].map(([code, actions]) => ({ code, label: code ? label({ coding: [{ system, code }] }) : t("unknownDomain"), actions }))
    .filter((g) => g.code || g.actions.length);
}

function teamRows(data) {
  const rows = [];
  for (const team of data.teams) {
    for (const part of team.participant || []) {
      const member = data.refs.get(part.member?.reference);
      let person = member; let org = null;
      if (member?.resourceType === "PractitionerRole") {
        person = data.refs.get(member.practitioner?.reference);
        org = data.refs.get(member.organization?.reference);
      }
      if (!org && part.onBehalfOf) org = data.refs.get(part.onBehalfOf.reference);
      const role = (part.role || []).map((r) => (codeIn(r, `${CS}cm-team-function`) === "other" && r.text) ? r.text : label(r)).filter(Boolean).join(", ");
      rows.push({ name: nameOf(person) || part.member?.display || "", role, structure: nameOf(org), contact: telecom(member, person),
        start: part.period?.start || team.period?.start, end: part.period?.end || team.period?.end,
        caseManager: (part.role || []).some((r) => codeIn(r, `${CS}cm-team-function`) === "case-manager"), self: member?.resourceType === "Patient" });
    }
  }
  return rows;
}

function timeline(data) {
  const events = [];
  for (const episode of data.episodes) {
    for (const ref of episode.referralRequest || []) {
      const request = data.refs.get(ref.reference);
      if (request?.authoredOn) events.push({ date: request.authoredOn, text: `${t("referral")} — ${who(request.requester, data) || ""}`.replace(/ — $/, "") });
    }
    if (episode.period?.start) events.push({ date: episode.period.start, text: t("start") });
    for (const change of episode.statusHistory || []) {
      if (!change.period?.start) continue;
      if (change.status === "onhold") { // a rupture, as the ruptures indicator counts them
        events.push({ date: change.period.start, text: t("rupture"), rupture: true });
        if (change.period.end) events.push({ date: change.period.end, text: t("resumed") });
      } else events.push({ date: change.period.start, text: `${t("statusChange")} : ${statusWord("episodeStatus", change.status)}` });
    }
    if (episode.period?.end) {
      const outcome = (episode.extension || []).find((x) => x.url === `${SD}cm-episode-outcome`)?.valueCodeableConcept;
      const how = outcome ? (label(outcome) || outcome.text || "") : "";
      events.push({ date: episode.period.end, text: how ? `${t("end")} — ${how}` : t("end"),
        outcome: outcome ? (codeIn(outcome, `${CS}cm-episode-outcome`) || "other") : null });
    }
  }
  for (const obs of data.ruptures || []) { // ruptures recorded as events, of any kind
    const start = obs.effectiveDateTime || obs.effectivePeriod?.start;
    if (!start) continue;
    const kind = label(obs.code) || obs.code?.text || "";
    const note = (obs.note || []).map((n) => n.text).filter(Boolean).join(" ");
    events.push({ date: start, text: `${t("recordedRupture")} : ${kind}${note ? ` — ${note}` : ""}`, rupture: true, kind: codeIn(obs.code, `${CS}cm-rupture-kind`) });
    if (obs.effectivePeriod?.end) events.push({ date: obs.effectivePeriod.end, text: `${t("ruptureResolved")} : ${kind}` });
  }
  return events.sort((a, b) => a.date.localeCompare(b.date));
}

function agreement(data) {
  const items = [];
  for (const plan of data.plans) {
    const ext = (plan.extension || []).find((x) => x.url === `${SD}cm-person-agreement`);
    const status = ext?.extension?.find((x) => x.url === "status")?.valueCode;
    const date = ext?.extension?.find((x) => x.url === "date")?.valueDateTime;
    items.push(h("p", { id: "plan-agreement" }, status === "agree" ? `${t("planAgreed")} ${formatDate(date)}.` : t("planNotAgreed")));
  }
  for (const consent of data.consents) {
    const structures = (consent.provision?.actor || []).map((a) => who(a.reference, data)).filter(Boolean);
    items.push(h("div", { class: "consent" },
      h("p", {}, `${t("consentShare")} — ${statusWord("consentStatus", consent.status)}${consent.provision?.period?.start ? `, ${t("since")} ${formatDate(consent.provision.period.start)}` : ""}.`),
      structures.length ? h("p", { class: "meta" }, `${t("consentStructures")} : ${structures.join(", ")}`) : ""));
  }
  if (!data.consents.length) items.push(h("p", {}, t("noConsent")));
  return items;
}

async function personView(id) {
  const data = await loadPerson(id);
  const name = nameOf(data.patient);
  const goalSection = h("section", { id: "goals", "aria-labelledby": "goals-title" }, h("h2", { id: "goals-title" }, t("goals")),
    goalsByDomain(data).map((group) => h("div", { class: "domain", "data-domain": group.code },
      h("h3", {}, group.label),
      h("ul", { class: "plain" }, group.goals.map((goal) => h("li", { class: "goal" },
        h("div", { class: "goal-text" }, goal.description?.text || ""),
        h("div", { class: "meta" },
          `${t("expressedBy")} : ${expressedBy(goal, data)} · ${t("status")} : ${statusWord("goalLifecycle", goal.lifecycleStatus)}`,
          goal.achievementStatus ? `, ${statusWord("achievement", codeIn(goal.achievementStatus, "http://terminology.hl7.org/CodeSystem/goal-achievement")) || label(goal.achievementStatus)}` : "",
          goal.target?.[0]?.dueDate ? ` · ${t("target")} : ${formatDate(goal.target[0].dueDate)}` : "",
          isOverdue(goal) ? h("span", { class: "tag late" }, " ", t("overdueTag")) : "")))))));
  const pillarSection = h("section", { id: "pillars" }, h("h2", {}, t("pillars")),
    activitiesByPillar(data).map((group) => h("div", { class: "pillar", "data-pillar": group.code }, h("h3", {}, group.label),
      group.actions.length ? h("ul", { class: "plain" }, group.actions.map((action) => h("li", {},
        h("div", {}, action.description || ""),
        h("div", { class: "meta" }, [statusWord("activity", action.status),
          (action.performer || []).map((p) => who(p, data)).filter(Boolean).join(", "),
          formatDate(action.scheduledPeriod?.start || action.scheduledString || "")].filter(Boolean).join(" · "))))) : h("p", { class: "meta" }, t("noAction")))));
  const team = teamRows(data);
  const teamSection = h("section", { id: "team" }, h("h2", {}, t("team")),
    h("table", { class: "responsive" },
      h("thead", {}, h("tr", {}, [t("person"), t("role"), t("structure"), t("contact"), t("period")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, team.map((row) => h("tr", {},
        h("td", { "data-label": t("person") }, row.name),
        h("td", { "data-label": t("role") }, row.role),
        h("td", { "data-label": t("structure") }, row.structure),
        h("td", { "data-label": t("contact") }, row.contact),
        h("td", { "data-label": t("period") }, [row.start ? `${t("from")} ${formatDate(row.start)}` : "", row.end ? `${t("to")} ${formatDate(row.end)}` : ""].filter(Boolean).join(" ")))))));
  const timelineSection = h("section", { id: "timeline" }, h("h2", {}, t("timeline")),
    h("ol", { class: "timeline" }, timeline(data).map((e) => h("li", { class: e.rupture ? "rupture" : null, "data-kind": e.kind || null, "data-outcome": e.outcome || null },
      h("strong", {}, formatDate(e.date)), " — ", e.rupture ? h("span", { class: "tag late" }, e.text) : e.text))));
  const agreementSection = h("section", { id: "agreement" }, h("h2", {}, t("agreement")), agreement(data));
  const episode = data.episodes[0];
  frame();
  show(
    h("div", { class: "actions" },
      h("a", { href: "#/" }, t("back")),
      h("a", { href: `#/person/${encodeURIComponent(id)}/my-plan`, id: "my-plan-link" }, t("print")),
      h("button", { type: "button", class: "link", onclick: () => window.print() }, t("printPage"))),
    h("h1", { id: "person-name" }, name),
    episode ? h("p", { class: "meta" }, `${t("episode")} : ${(episode.type || []).map(label).filter(Boolean).join(", ")} — ${statusWord("episodeStatus", episode.status)}`) : "",
    goalSection, pillarSection, teamSection, timelineSection, agreementSection);
}

// "My plan": plain words for the person to take home (no codes, no identifiers).
async function myPlanView(id) {
  const data = await loadPerson(id);
  const given = data.patient.name?.[0]?.given?.[0] || nameOf(data.patient);
  const plan = data.plans.find((p) => p.status === "active") || data.plans[0];
  const team = teamRows(data).filter((r) => !r.self && !r.end);
  const manager = team.find((r) => r.caseManager);
  frame();
  show(
    h("div", { class: "actions" }, h("a", { href: `#/person/${encodeURIComponent(id)}` }, t("back")),
      h("button", { type: "button", onclick: () => window.print() }, t("printPage"))),
    h("article", { id: "my-plan" },
      h("h1", {}, `${t("myPlan")} — ${given}`),
      h("p", {}, plan?.description || t("myPlanIntro")),
      h("section", {}, h("h2", {}, t("myGoals")),
        goalsByDomain(data).map((group) => h("div", {}, h("h3", {}, group.label),
          h("ul", {}, group.goals.filter((g) => !["cancelled", "entered-in-error", "rejected"].includes(g.lifecycleStatus)).map((goal) =>
            h("li", {}, goal.description?.text || "", goal.target?.[0]?.dueDate ? ` — ${t("byWhen")} ${formatDate(goal.target[0].dueDate)}` : "")))))),
      h("section", {}, h("h2", {}, t("whatWeDo")),
        activitiesByPillar(data).filter((g) => g.actions.length).map((group) => h("div", {}, h("h3", {}, group.label),
          h("ul", {}, group.actions.filter((a) => !["cancelled", "stopped", "entered-in-error"].includes(a.status)).map((a) =>
            h("li", {}, a.description || "", a.performer?.length ? ` — ${a.performer.map((p) => who(p, data)).join(", ")}` : "",
              a.scheduledPeriod?.start ? `, ${formatDate(a.scheduledPeriod.start)}` : "")))))),
      h("section", {}, h("h2", {}, t("whoHelps")),
        manager ? h("p", {}, h("strong", {}, `${t("myCaseManager")} : `), `${manager.name}${manager.structure ? `, ${manager.structure}` : ""}${manager.contact ? ` — ${manager.contact}` : ""}`) : "",
        h("ul", {}, team.filter((r) => r !== manager).map((r) => h("li", {}, [r.name, r.role, r.structure, r.contact].filter(Boolean).join(" — "))))),
      h("p", { class: "meta" }, `${t("printed")} ${formatDate(today())}`)));
}

// --- indicators ------------------------------------------------------------------------------

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = String(text);
  return node;
}

// A figure of a MeasureReport: its count (or score with its unit), as reported
function figure(part) {
  const score = part.measureScore;
  if (score && typeof score.value === "number") return { value: score.value, unit: score.unit || "" };
  const population = (part.population || []).find((p) => p.code?.coding?.some((c) => c.code === "initial-population")) || part.population?.[0];
  return { value: population?.count ?? 0, unit: "" };
}

function stratumLabel(stratum) {
  const value = stratum.value || {};
  return value.coding?.length ? label(value) : (value.text || "—");
}

// Horizontal bars, one per stratum, drawn in SVG with text nodes only
function bars(stratifier, group) {
  const strata = stratifier.stratum || [];
  const rows = strata.map((s) => ({ name: stratumLabel(s), ...figure(s) }));
  const max = Math.max(1, ...rows.map((r) => r.value));
  const height = 26;
  const chart = svg("svg", { viewBox: `0 0 600 ${Math.max(1, rows.length) * height + 4}`, role: "img", class: "bars",
    "aria-label": `${label(group.code)} — ${label(stratifier.code?.[0])}` });
  rows.forEach((row, i) => {
    const y = i * height + 2;
    chart.append(svg("text", { x: 0, y: y + 17, class: "bar-label" }, row.name.length > 34 ? `${row.name.slice(0, 33)}…` : row.name));
    chart.append(svg("rect", { x: 260, y: y + 4, height: height - 10, width: Math.max(2, Math.round((row.value / max) * 280)),
      class: "bar", "data-value": row.value }));
    chart.append(svg("text", { x: 266 + Math.round((row.value / max) * 280), y: y + 17, class: "bar-value" }, `${row.value}${row.unit ? ` ${row.unit}` : ""}`));
  });
  return h("div", { class: "stratifier", "data-stratifier": codeIn(stratifier.code?.[0], CS + "cm-indicator") || "" },
    h("h4", {}, label(stratifier.code?.[0])),
    rows.length ? chart : h("p", { class: "meta" }, t("noData")));
}

async function indicatorsView() {
  const end = today();
  const start = new Date(Date.now() - 365 * 86400000).toISOString().slice(0, 10);
  const sections = await Promise.all(MEASURES.map(async (id) => {
    let report;
    try {
      report = await fhir(`Measure/$evaluate-measure?measure=${encodeURIComponent(`${IG}Measure/${id}`)}&periodStart=${start}&periodEnd=${end}`);
    } catch (error) {
      if (error instanceof SignInNeeded) throw error;
      return h("section", { class: "measure", "data-measure": id }, h("h2", {}, t(`measure-${id}`)),
        h("p", { class: "error" }, error.message));
    }
    return h("section", { class: "measure", "data-measure": id }, h("h2", {}, t(`measure-${id}`)),
      (report.group || []).map((group) => {
        const total = figure(group);
        return h("div", { class: "group", "data-group": codeIn(group.code, CS + "cm-indicator") || "" },
          h("h3", {}, label(group.code), " : ", h("strong", { class: "total", "data-value": total.value },
            `${total.value}${total.unit ? ` ${total.unit}` : ""}`)),
          (group.stratifier || []).map((s) => bars(s, group)));
      }));
  }));
  show(h("section", { id: "indicators" },
    h("h1", {}, t("indicators")),
    h("p", { class: "meta" }, t("indicatorsIntro"), " ", formatDate(start), " – ", formatDate(end), "."),
    sections));
}

// --- routing ---------------------------------------------------------------------------------

async function route() {
  frame();
  if (!session() && !authOff) return signInView();
  const path = location.hash.replace(/^#/, "") || "/";
  document.getElementById("status")?.remove();
  try {
    await loadLabels();
    const person = path.match(/^\/person\/([^/]+)(\/my-plan)?$/);
    if (path === "/indicators") await indicatorsView();
    else if (person && person[2]) await myPlanView(decodeURIComponent(person[1]));
    else if (person) await personView(decodeURIComponent(person[1]));
    else await caseloadView();
  } catch (error) {
    if (error instanceof SignInNeeded) return signInView();
    show(h("section", {}, h("h1", {}, t("title")), h("p", { class: "error", role: "alert" }, `${t("errorLoad")} : ${error.message}`),
      h("a", { href: "#/" }, t("back"))));
  }
}

document.getElementById("lang").addEventListener("click", () => { setLanguage(language() === "fr" ? "en" : "fr"); route(); });
document.getElementById("signout").addEventListener("click", () => { signOut(); location.hash = "#/"; route(); });
window.addEventListener("hashchange", route);

(async () => {
  try {
    authOff = await authenticationOff();
    await completeSignIn();
  } catch (error) {
    return signInView(error.message);
  }
  route();
})();
