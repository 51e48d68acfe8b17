// ValueSets over the French NOS tables (ANS, ans.fr.terminologies). The NOS CodeSystems
// cannot be loaded offline: each ValueSet enumerates the ACTIVE codes this guide uses, with
// the canonical URL of the NOS CodeSystem and, where it was verified, its version
// (source: shared/reference/fr-terminology-verified-codes.json). Deprecated codes
// (TRE_G15 93 and 35, TRE_R94 51/48/53/44, TRE_R260 QUAL) are deliberately left out:
// their replacements are listed instead (TRE_R95 93, TRE_R85 313/326/324/328/320, TRE_R260 NOK).

ValueSet: CMProfessionVS
Id: cm-profession
Title: "Professions et rôles des intervenants (Professions and roles, NOS)"
Description: "Profession ou rôle d'un professionnel (PractitionerRole.code) : professions de santé (TRE_G15), usages de titre (TRE_R95), professions du social (TRE_R94), rôles de prise en charge (TRE_R85) et compétences spécifiques (TRE_R243). Profession or role of a professional, from the French NOS tables."
* insert TerminologyMetadata
* include $TRE-G15#10 "Médecin"
* include $TRE-G15#60 "Infirmier"
* include $TRE-G15#69 "Infirmier psychiatrique"
* include $TRE-G15#91 "Orthophoniste"
* include $TRE-G15#94 "Ergothérapeute"
* include $TRE-G15#95 "Diététicien"
* include $TRE-G15#96 "Psychomotricien"
* ^compose.include[0].version = "20250328120000"
* include $TRE-R95#93 "Psychologue"
* include $TRE-R95#72 "Psychothérapeute"
* include $TRE-R94#41 "Assistant de service social"
* ^compose.include[2].version = "20241213120000"
* include $TRE-R85#309 "Gestionnaire de cas MAIA"
* include $TRE-R85#312 "Autre professionnel"
* include $TRE-R85#313 "Aide-soignant"
* include $TRE-R85#320 "Conseiller en économie sociale et familiale"
* include $TRE-R85#324 "Moniteur éducateur"
* include $TRE-R85#326 "Educateur spécialisé"
* include $TRE-R85#328 "Accompagnant éducatif et social"
* include $TRE-R85#330 "Coordonnateur de parcours"
* include $TRE-R85#345 "Autre professionnel intervenant dans le social, éducatif, psychologie et culturel"
* include $TRE-R85#353 "Membre de l'équipe de soins"
* include $TRE-R85#361 "Educateur en activité physique adaptée"
* include $TRE-R85#368 "Animateur"
* ^compose.include[3].version = "20260330120000"
* include $TRE-R243#08 "Intervenant pair (médiateur, pair-aidant)"
* include $TRE-R243#24 "Psychologue clinicien"
* include $TRE-R243#05 "Neuropsychologue"

ValueSet: CMSpecialtyVS
Id: cm-specialty
Title: "Spécialités ordinales utiles au case management (Medical specialties, TRE_R38)"
Description: "Spécialités ordinales (TRE_R38) des médecins de l'équipe. Medical specialties of the physicians of the team (TRE_R38)."
* insert TerminologyMetadata
* include $TRE-R38#SM42 "Psychiatrie (SM)"
* include $TRE-R38#SM43 "Psychiatrie, option enfant et adolescent (SM)"
* include $TRE-R38#SM54 "Médecine générale (SM)"

ValueSet: CMOrganizationCategoryVS
Id: cm-organization-category
Title: "Catégories de structures (Structure categories, TRE_R66)"
Description: "Catégories d'établissement FINESS (TRE_R66) des structures du réseau de case management. FINESS establishment categories of the structures of the network."
* insert TerminologyMetadata
* include $TRE-R66#156 "Centre Médico-Psychologique (C.M.P.)"
* include $TRE-R66#292 "Centre Hospitalier Spécialisé lutte Maladies Mentales"
* include $TRE-R66#445 "Service d'accompagnement médico-social adultes handicapés (SAMSAH)"
* include $TRE-R66#446 "Service d'Accompagnement à la Vie Sociale (S.A.V.S.)"
* include $TRE-R66#604 "CPTS (Communauté Professionnelle Territoriale de Santé)"
* include $TRE-R66#606 "Dispositif d'appui à la coordination (DAC)"
* include $TRE-R66#608 "Equipe mobile médico-sociale précarité (EMMSP)"
* include $TRE-R66#609 "Maison Départementale pour Personnes Handicapées (MDPH)"
* include codes from system CMOrganizationCategory

ValueSet: CMRelatedPersonRoleVS
Id: cm-related-person-role
Title: "Rôles de l'entourage (Roles of the entourage, TRE_R260)"
Description: "Rôle d'une personne de l'entourage (TRE_R260) : aidant, personne de confiance, responsable légal, personne à prévenir. Role of a related person."
* insert TerminologyMetadata
* include $TRE-R260#CAREGIVER "Aidant"
* include $TRE-R260#NOK "personne de confiance"
* include $TRE-R260#GUARD "Responsable légal"
* include $TRE-R260#ECON "personne à prévenir en cas d'urgence"

ValueSet: CMIdentityStatusVS
Id: cm-identity-status
Title: "Statuts de confiance de l'identité (Identity status, RNIV)"
Description: "Les 4 statuts de confiance de l'identité du Référentiel national d'identitovigilance (RNIV), codes de la table FR Core v2-0445 : PROV, RECUP, VALI, QUAL. Re-déclaré ici faute de pouvoir charger FR Core (même système, mêmes codes que FR Core 2.2 fr-core-vs-identity-reliability-ins-status)."
* insert TerminologyMetadata
* $fr-core-cs-v2-0445#PROV "Identité provisoire"
* $fr-core-cs-v2-0445#RECUP "Identité récupérée"
* $fr-core-cs-v2-0445#VALI "Identité validée"
* $fr-core-cs-v2-0445#QUAL "Identité qualifiée"
