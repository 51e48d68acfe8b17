// ValueSets over the guide's own CodeSystems.

ValueSet: CMLifeDomainVS
Id: cm-life-domain
Title: "Domaines de vie (Life domains)"
Description: "Tous les domaines de vie. All life domains."
* insert TerminologyMetadata
* include codes from system CMLifeDomain

ValueSet: CMCarePillarVS
Id: cm-care-pillar
Title: "Piliers du soin (Pillars of care)"
Description: "Tous les piliers du soin. All pillars of care."
* insert TerminologyMetadata
* include codes from system CMCarePillar

ValueSet: CMProgrammeVS
Id: cm-programme
Title: "Programmes d'accompagnement (Case-management programmes)"
Description: "Tous les programmes d'accompagnement. All programmes."
* insert TerminologyMetadata
* include codes from system CMProgramme

ValueSet: CMCaseManagementModelVS
Id: cm-case-management-model
Title: "Modèles de case management (Case-management models)"
Description: "Tous les modèles de case management. All case-management models."
* insert TerminologyMetadata
* include codes from system CMCaseManagementModel

ValueSet: CMTeamFunctionVS
Id: cm-team-function
Title: "Fonctions dans l'équipe (Team functions)"
Description: "Toutes les fonctions dans l'équipe d'accompagnement. All team functions."
* insert TerminologyMetadata
* include codes from system CMTeamFunction

ValueSet: CMPlanTypeVS
Id: cm-plan-type
Title: "Types de projet personnalisé (Personal plan types)"
Description: "Types de plan du guide et types de projet personnalisé médico-social (TRE_R390, JDV_J367). Plan types of this guide and médico-social personal plan types (TRE_R390)."
* insert TerminologyMetadata
* include codes from system CMPlanType
* $TRE-R390#PP "Projet Personnalisé"
* $TRE-R390#PPA "Projet Personnalisé d'Accompagnement"
* $TRE-R390#PPI "Projet Personnalisé Individuel"
* $TRE-R390#PPIA "Projet Personnalisé Individuel d'Accompagnement"
* $TRE-R390#PAI "Projet d'Accompagnement Individuel"
* $TRE-R390#PA "Projet d'Accompagnement"
* $TRE-R390#PI "Projet Individuel"

ValueSet: CMServiceTypeVS
Id: cm-service-type
Title: "Prestations demandées (Requested services)"
Description: "Ce que peut demander une orientation. What a referral may ask for."
* insert TerminologyMetadata
* include codes from system CMServiceType

ValueSet: CMConsentCategoryVS
Id: cm-consent-category
Title: "Objets du consentement au partage (Sharing consent categories)"
Description: "Objets d'un consentement au partage. What a sharing consent covers."
* insert TerminologyMetadata
* include codes from system CMConsentCategory

ValueSet: CMAgreementStatusVS
Id: cm-agreement-status
Title: "Accord de la personne (Agreement of the person)"
Description: "Accord de la personne avec son projet personnalisé : codes du CodeSystem R4 goal-acceptance-status (agree | disagree | pending), les mêmes que pour l'accord sur un objectif (extension goal-acceptance). The person's agreement with the plan, same codes as for a goal."
* insert TerminologyMetadata
* $goal-acceptance-status#agree "Agree"
* $goal-acceptance-status#disagree "Disagree"
* $goal-acceptance-status#pending "Pending"

ValueSet: CMFamilyRelationshipVS
Id: cm-kinship
Title: "Liens de parenté (Kinship)"
Description: "Liens de parenté et liens personnels de l'entourage (HL7 v3 RoleCode : membres de la famille et ami·e, voisin·e). Kinship and personal relationships of the entourage (HL7 v3 RoleCode)."
* insert TerminologyMetadata
* include codes from system $v3-RoleCode where concept is-a #FAMMEMB
* $v3-RoleCode#FRND "unrelated friend"
* $v3-RoleCode#NBOR "neighbor"
* $v3-RoleCode#ROOM "Roommate"
