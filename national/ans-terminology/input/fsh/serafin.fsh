// SERAFIN-PH needs (besoins): the JDV_J285 ValueSet and the concepts it lists, as published in
// ans.fr.terminologies#1.10.0 (ValueSet JDV-J285-Besoins-SERAFIN, version 20241025120000,
// read from the public code index). Used by TDDUIServiceRequestBesoin.category (required
// binding) and by cm-fhir's ConceptMap cm-life-domain-to-serafin-besoin. See ../../SOURCE.md.

CodeSystem: TerminologieSERAFINPH
Id: terminologie-SERAFINPH
Title: "Terminologie SERAFIN-PH (fragment : famille 1, besoins)"
Description: "Nomenclatures SERAFIN-PH des besoins (fragment : les concepts de JDV_J285)."
* ^url = "https://smt.esante.gouv.fr/terminologie-SERAFINPH"
* ^status = #active
* ^content = #fragment
* ^caseSensitive = true
* ^experimental = false
* #1 "Besoins"
* #1.1 "Besoins en matière de santé somatique ou psychique"
* #1.1.1 "Besoins en matière de fonctions mentales, psychiques, cognitives et du système nerveux"
* #1.1.10 "Besoins pour entretenir et prendre soin de sa santé"
* #1.1.2 "Besoins en matière de fonctions sensorielles"
* #1.1.3 "Besoins en matière de douleur"
* #1.1.4 "Besoins relatifs à la voix, à la parole et à l'appareil bucco-dentaire"
* #1.1.5 "Besoins en matière de fonctions cardio-vasculaire, hématopoïétique, immunitaire et respiratoire"
* #1.1.6 "Besoins en matière de fonctions digestive, métabolique et endocrinienne"
* #1.1.7 "Besoins en matière de fonctions génito-urinaire et reproductive"
* #1.1.8 "Besoins en matière de fonctions locomotrices"
* #1.1.9 "Besoins relatifs à la peau et aux structures associées"
* #1.2 "Besoins en matière d'autonomie"
* #1.2.1 "Besoins en matière d'autonomie"
* #1.2.1.1 "Besoins en lien avec l'entretien personnel"
* #1.2.1.2 "Besoins en lien avec les relations et les interactions avec autrui"
* #1.2.1.3 "Besoins pour la mobilité"
* #1.2.1.4 "Besoins pour prendre des décisions adaptées et pour la sécurité"
* #1.3 "Besoins pour la participation sociale"
* #1.3.1 "Besoins pour accéder aux droits et à la citoyenneté"
* #1.3.1.1 "Besoins pour accéder aux droits et à la citoyenneté"
* #1.3.2 "Besoins pour vivre dans un logement et accomplir les activités domestiques"
* #1.3.2.1 "Besoins pour vivre dans un logement"
* #1.3.2.2 "Besoins pour accomplir les activités domestiques"
* #1.3.3 "Besoins pour l'insertion sociale et professionnelle et pour exercer ses rôles sociaux"
* #1.3.3.1 "Besoins en lien avec la vie scolaire et étudiante"
* #1.3.3.2 "Besoins en lien avec le travail et l'emploi"
* #1.3.3.3 "Besoins transversaux en matière d'apprentissages"
* #1.3.3.4 "Besoins pour la vie familiale, la parentalité, la vie affective et sexuelle"
* #1.3.3.5 "Besoins pour apprendre à être pair-aidant"
* #1.3.4 "Besoins pour participer à la vie sociale et se déplacer avec un moyen de transport"
* #1.3.4.1 "Besoins pour participer à la vie sociale"
* #1.3.4.2 "Besoins pour se déplacer avec un moyen de transport"
* #1.3.5 "Besoins en matière de ressources et d'autosuffisance économique"
* #1.3.5.1 "Besoins en matière de ressources et d'autosuffisance économique"

ValueSet: JDV_J285_Besoins_SERAFIN
Id: JDV-J285-Besoins-SERAFIN
Title: "JDV_J285 Besoins SERAFIN"
Description: "Liste des besoins provenant de la terminologie SERAFIN"
* ^url = "https://mos.esante.gouv.fr/NOS/JDV_J285-Besoins_SERAFIN/FHIR/JDV-J285-Besoins-SERAFIN"
* ^identifier.system = "urn:ietf:rfc:3986"
* ^identifier.value = "urn:oid:1.2.250.1.213.3.3.254"
* ^version = "20241025120000"
* ^status = #active
* ^experimental = false
* include codes from system https://smt.esante.gouv.fr/terminologie-SERAFINPH
