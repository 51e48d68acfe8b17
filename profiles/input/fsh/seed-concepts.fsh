// Homes of the seed concepts that had none (issue 13): the référence model, the territory's
// structures without a FINESS category, the place of an intervention. Each is a code on a
// standard R4 element (CareTeam.category, Organization.type, Location.type of a contained
// Location of kind "kind" in CarePlan.activity.detail.location); no new extension.

CodeSystem: CMReferralModel
Id: cm-referral-model
Title: "Modèles de la référence (Referral models)"
Description: "Les deux modèles de la référence en santé mentale (« Questionner la notion de référence », seeds) : interne ou externe. Porté par CareTeam.category. The two models of the référence: the case manager inside the care team of the structure, or an external coordinator."
* insert LocalCodeSystem
* #interne "Référence interne" "Modèle interne : le référent appartient à l'équipe de soins de la structure ; garant du parcours, du projet, témoin, référent clinique."
* #externe "Référence externe" "Modèle externe : un coordinateur extérieur à l'équipe de soins assure le suivi, la régulation, la coordination du parcours et le relais."
* insert En(interne, "Internal referral model")
* insert En(externe, "External referral model")

ValueSet: CMReferralModelVS
Id: cm-referral-model
Title: "Modèles de la référence (Referral models)"
Description: "Modèle de la référence d'une équipe d'accompagnement (CareTeam.category). Referral model of a care team."
* insert TerminologyMetadata
* include codes from system CMReferralModel

CodeSystem: CMOrganizationCategory
Id: cm-organization-category
Title: "Structures du territoire sans catégorie FINESS (Territorial structures without a FINESS category)"
Description: "Catégories des structures et instances du territoire citées par les seeds qui n'ont pas de catégorie d'établissement FINESS (TRE_R66) : Communauté 360, conseil local de santé mentale, projet territorial de santé mentale. Complète TRE_R66 dans Organization.type. Categories of the territory's structures that TRE_R66 does not list."
* insert LocalCodeSystem
* #communaute-360 "Communauté 360" "Communauté 360 : dispositif départemental d'appui aux personnes en situation de handicap et à leurs aidants (numéro unique 0 800 360 360), qui mobilise les acteurs du territoire."
* #clsm "Conseil local de santé mentale (CLSM)" "Conseil local de santé mentale : instance de concertation et de coordination entre élus, psychiatrie, usagers, aidants et acteurs sociaux d'un territoire."
* #ptsm "Projet territorial de santé mentale (PTSM)" "Instance de pilotage du projet territorial de santé mentale, qui organise la coordination des acteurs sanitaires, sociaux et médico-sociaux d'un territoire."
* insert En(communaute-360, "Communauté 360 disability support network")
* insert En(clsm, "Local mental health council")
* insert En(ptsm, "Territorial mental health project")

CodeSystem: CMInterventionPlace
Id: cm-intervention-place
Title: "Lieux d'intervention (Places of an intervention)"
Description: "Où se déroule une action du projet : le case manager se déplace à domicile, dans les lieux de loisirs, de formation, sur le lieu de travail, en consultation, dans un café (seeds). Type de la Location contenue (mode kind) de CarePlan.activity.detail.location ; correspondance vers les lieux HL7 v3 (ServiceDeliveryLocationRoleType) dans le ConceptMap cm-intervention-place-to-v3. Where an action of the plan takes place."
* insert LocalCodeSystem
* #domicile "Domicile" "Au domicile de la personne (visite à domicile)."
* #lieu-de-soins "Lieu de soins" "Dans un lieu de soins ou d'accompagnement : centre de soins, CMP, consultation, locaux de la structure."
* #lieu-de-formation "Lieu d'études ou de formation" "École, lycée, université, organisme de formation."
* #lieu-de-travail "Lieu de travail" "Sur le lieu de travail ou de stage."
* #lieu-de-loisirs "Lieu de loisirs" "Club, association, lieu d'activité sportive ou culturelle."
* #lieu-public "Lieu public" "Un lieu de la cité choisi avec la personne : café, balade, espace public."
* insert En(domicile, "Home")
* insert En(lieu-de-soins, "Care setting")
* insert En(lieu-de-formation, "School or training place")
* insert En(lieu-de-travail, "Workplace")
* insert En(lieu-de-loisirs, "Leisure place")
* insert En(lieu-public, "Public place")

ValueSet: CMInterventionPlaceVS
Id: cm-intervention-place
Title: "Lieux d'intervention (Places of an intervention)"
Description: "Lieu d'une action du projet personnalisé (Location.type d'une Location contenue). Place of an action of the plan."
* insert TerminologyMetadata
* include codes from system CMInterventionPlace

Instance: cm-intervention-place-to-v3
InstanceOf: ConceptMap
Usage: #definition
Title: "Lieux d'intervention → HL7 v3 ServiceDeliveryLocationRoleType"
* url = "https://interop.cm-sante-mentale.fr/fhir/ConceptMap/cm-intervention-place-to-v3"
* version = "0.1.0"
* name = "CMInterventionPlaceToV3"
* title = "Lieux d'intervention → HL7 v3 ServiceDeliveryLocationRoleType"
* status = #draft
* experimental = false
* publisher = "Projet open source cm-fhir"
* jurisdiction = urn:iso:std:iso:3166#FR "France"
* description = "Correspondance des lieux d'intervention vers les types de lieux HL7 v3 portés à côté du code du guide dans Location.type (liaison extensible de R4). Places of an intervention to HL7 v3 location role types."
* sourceCanonical = Canonical(CMInterventionPlaceVS)
* targetCanonical = "http://terminology.hl7.org/ValueSet/v3-ServiceDeliveryLocationRoleType"
* group[+].source = "https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-intervention-place"
* group[=].target = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
* group[=].element[+].code = #domicile
* group[=].element[=].target[+].code = #PTRES
* group[=].element[=].target[=].equivalence = #equivalent
* group[=].element[+].code = #lieu-de-soins
* group[=].element[=].target[+].code = #OF
* group[=].element[=].target[=].equivalence = #wider
* group[=].element[+].code = #lieu-de-formation
* group[=].element[=].target[+].code = #SCHOOL
* group[=].element[=].target[=].equivalence = #equivalent
* group[=].element[+].code = #lieu-de-travail
* group[=].element[=].target[+].code = #WORK
* group[=].element[=].target[=].equivalence = #equivalent
* group[=].element[+].code = #lieu-de-loisirs
* group[=].element[=].target[+].code = #COMM
* group[=].element[=].target[=].equivalence = #wider
* group[=].element[+].code = #lieu-public
* group[=].element[=].target[+].code = #COMM
* group[=].element[=].target[=].equivalence = #wider
