// The page's words in French (default) and English. Codes of our CodeSystems are shown with
// the displays the server serves (CodeSystem resources of the implementation guide); the
// FHIR status codes below are base R4 codes, put in plain words here.
const WORDS = {
  fr: {
    title: "Plan de soins partagé", signIn: "Se connecter", signOut: "Se déconnecter",
    signInIntro: "Connectez-vous avec votre compte professionnel pour voir les plans de soins des personnes que votre structure accompagne.",
    loading: "Chargement…", other: "English", caseload: "Mes accompagnements",
    indicators: "Indicateurs", noData: "Aucune donnée sur la période.",
    indicatorsIntro: "Calculés par le serveur sur les personnes que votre structure accompagne, du",
    "measure-cm-caseload": "File active par référent de parcours",
    "measure-cm-referral-delay": "Délai entre la demande et le début de l'accompagnement",
    "measure-cm-goals-by-domain": "Objectifs par domaine de vie",
    "measure-cm-ruptures": "Ruptures de parcours",
    "measure-cm-hospitalisations": "Hospitalisations pendant l'accompagnement",
    "measure-cm-episode-outcomes": "Fins d'accompagnement par issue",
    caseloadIntro: "Personnes que vous accompagnez comme référent de parcours, et les autres personnes accompagnées par votre structure.",
    people: "Personnes accompagnées", person: "Personne", nextDate: "Prochaine échéance",
    overdue: "Objectifs en retard", lastContact: "Dernier contact", noContactFor: "Sans contact depuis plus de",
    days: "jours", none: "aucun", noneFem: "aucune", never: "aucun contact enregistré",
    open: "Ouvrir", back: "Retour à la liste", print: "Imprimer « mon plan »", printPage: "Imprimer cette page",
    goals: "Objectifs par domaine de vie", expressedBy: "Exprimé par", theperson: "la personne elle-même",
    target: "Échéance", status: "Statut", since: "depuis le", pillars: "Les quatre piliers du soin",
    noAction: "Aucune action prévue.", team: "L'équipe", role: "Rôle", structure: "Structure",
    contact: "Contact", period: "Période", from: "depuis le", to: "jusqu'au", timeline: "Le parcours",
    agreement: "L'accord de la personne", planAgreed: "La personne a donné son accord au plan le",
    planNotAgreed: "L'accord de la personne sur le plan n'est pas enregistré.",
    consentShare: "Partage du plan entre structures autorisé par la personne",
    consentStructures: "Structures autorisées", noConsent: "Aucun consentement enregistré.",
    referral: "Demande d'accompagnement", start: "Début de l'accompagnement", end: "Fin de l'accompagnement",
    statusChange: "Statut", noPeople: "Aucune personne accompagnée visible pour votre structure.",
    myPlan: "Mon plan", myPlanIntro: "Ce que nous avons décidé ensemble.", myGoals: "Mes objectifs",
    byWhen: "pour le", whatWeDo: "Ce que nous faisons", whoHelps: "Qui m'accompagne",
    myCaseManager: "Mon référent de parcours", printed: "Imprimé le", unknownDomain: "Autres objectifs",
    errorLoad: "Impossible de charger les données", signedInAs: "Connecté·e :",
    caseManagerOf: "Référent de parcours", episode: "Accompagnement", overdueTag: "en retard",
    withoutContact: "sans contact", goalsCount: "objectifs",
    rupture: "Rupture : accompagnement suspendu", resumed: "Reprise de l'accompagnement",
    recordedRupture: "Rupture", ruptureResolved: "Fin de la rupture",
    goalLifecycle: { proposed: "proposé", planned: "prévu", accepted: "accepté", active: "en cours",
      "on-hold": "en pause", completed: "terminé", cancelled: "annulé", "entered-in-error": "erreur", rejected: "refusé" },
    achievement: { "in-progress": "en progression", improving: "s'améliore", worsening: "se dégrade",
      "no-change": "sans changement", achieved: "atteint", sustaining: "maintenu", "not-achieved": "non atteint",
      "no-progress": "sans progrès", "not-attainable": "hors d'atteinte" },
    activity: { "not-started": "pas commencée", scheduled: "prévue", "in-progress": "en cours", "on-hold": "en pause",
      completed: "faite", cancelled: "annulée", stopped: "arrêtée", unknown: "inconnu", "entered-in-error": "erreur" },
    episodeStatus: { planned: "orientation reçue", waitlist: "en attente", active: "en cours", onhold: "suspendu",
      finished: "terminé", cancelled: "annulé", "entered-in-error": "erreur" },
    consentStatus: { active: "actif", proposed: "proposé", rejected: "refusé", inactive: "inactif", draft: "brouillon",
      "entered-in-error": "erreur" },
  },
  en: {
    title: "Shared care plan", signIn: "Sign in", signOut: "Sign out",
    signInIntro: "Sign in with your professional account to see the care plans of the people your structure accompanies.",
    loading: "Loading…", other: "Français", caseload: "My caseload",
    indicators: "Indicators", noData: "No data in the period.",
    indicatorsIntro: "Computed by the server over the people your structure accompanies, from",
    "measure-cm-caseload": "Active caseload per case manager",
    "measure-cm-referral-delay": "Delay from referral to the start of case management",
    "measure-cm-goals-by-domain": "Goals by life domain",
    "measure-cm-ruptures": "Ruptures",
    "measure-cm-hospitalisations": "Hospitalisations during case management",
    "measure-cm-episode-outcomes": "Episodes ended, by outcome",
    caseloadIntro: "People you accompany as case manager, and the other people your structure accompanies.",
    people: "People accompanied", person: "Person", nextDate: "Next target date",
    overdue: "Goals overdue", lastContact: "Last contact", noContactFor: "Without contact for more than",
    days: "days", none: "none", noneFem: "none", never: "no contact recorded",
    open: "Open", back: "Back to the list", print: "Print “my plan”", printPage: "Print this page",
    goals: "Goals by life domain", expressedBy: "Expressed by", theperson: "the person themself",
    target: "Target date", status: "Status", since: "since", pillars: "The four pillars of care",
    noAction: "No action planned.", team: "The team", role: "Role", structure: "Structure",
    contact: "Contact", period: "Period", from: "from", to: "until", timeline: "The pathway",
    agreement: "The person's agreement", planAgreed: "The person agreed to the plan on",
    planNotAgreed: "The person's agreement to the plan is not recorded.",
    consentShare: "Sharing of the plan between structures allowed by the person",
    consentStructures: "Structures allowed", noConsent: "No consent recorded.",
    referral: "Referral", start: "Start of case management", end: "End of case management",
    statusChange: "Status", noPeople: "No person accompanied is visible to your structure.",
    myPlan: "My plan", myPlanIntro: "What we decided together.", myGoals: "My goals",
    byWhen: "by", whatWeDo: "What we do", whoHelps: "Who helps me",
    myCaseManager: "My case manager", printed: "Printed on", unknownDomain: "Other goals",
    errorLoad: "Could not load the data", signedInAs: "Signed in:",
    caseManagerOf: "Case manager", episode: "Case management", overdueTag: "overdue",
    withoutContact: "no contact", goalsCount: "goals",
    rupture: "Rupture: case management on hold", resumed: "Case management resumed",
    recordedRupture: "Rupture", ruptureResolved: "Rupture resolved",
    goalLifecycle: { proposed: "proposed", planned: "planned", accepted: "accepted", active: "active",
      "on-hold": "on hold", completed: "completed", cancelled: "cancelled", "entered-in-error": "error", rejected: "rejected" },
    achievement: { "in-progress": "in progress", improving: "improving", worsening: "worsening",
      "no-change": "no change", achieved: "achieved", sustaining: "sustaining", "not-achieved": "not achieved",
      "no-progress": "no progress", "not-attainable": "not attainable" },
    activity: { "not-started": "not started", scheduled: "scheduled", "in-progress": "in progress", "on-hold": "on hold",
      completed: "done", cancelled: "cancelled", stopped: "stopped", unknown: "unknown", "entered-in-error": "error" },
    episodeStatus: { planned: "referral received", waitlist: "waiting list", active: "active", onhold: "on hold",
      finished: "finished", cancelled: "cancelled", "entered-in-error": "error" },
    consentStatus: { active: "active", proposed: "proposed", rejected: "rejected", inactive: "inactive", draft: "draft",
      "entered-in-error": "error" },
  },
};

export function language() {
  const stored = localStorage.getItem("cm-lang");
  return stored === "en" ? "en" : "fr";
}

export function setLanguage(lang) {
  localStorage.setItem("cm-lang", lang === "en" ? "en" : "fr");
}

export function t(key) {
  const words = WORDS[language()];
  return key in words ? words[key] : WORDS.fr[key] ?? key;
}

export function statusWord(table, code) {
  if (!code) return "";
  return t(table)[code] ?? code;
}

export function formatDate(value) {
  if (!value) return "";
  const parts = String(value).slice(0, 10).split("-").map(Number);
  if (parts.length === 1 || Number.isNaN(parts[0])) return String(value);
  const date = new Date(Date.UTC(parts[0], (parts[1] || 1) - 1, parts[2] || 1));
  const options = { timeZone: "UTC", year: "numeric" };
  if (parts.length > 1) options.month = "long";
  if (parts.length > 2) options.day = "numeric";
  return new Intl.DateTimeFormat(language() === "en" ? "en-GB" : "fr-FR", options).format(date);
}
