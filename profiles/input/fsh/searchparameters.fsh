// Search parameters the partners need and R4 lacks. Expressions are plain FHIRPath over the
// resource (no resolve()), so a server can index them by evaluating `expression` with the
// FHIR R4 model (choice types: value.ofType(...)).
//
// Not defined here on purpose: "CareTeam by the structure of its members" is the standard
// chained search CareTeam?participant:PractitionerRole.organization=Organization/{id}
// (R4 CareTeam-participant + PractitionerRole-organization); an indexable parameter would
// need resolve(). Goals by life domain use the R4 Goal `category` parameter.

RuleSet: SearchParameterMetadata(id)
* url = "https://interop.cm-sante-mentale.fr/fhir/SearchParameter/{id}"
* version = "0.1.0"
* status = #draft
* experimental = false
* publisher = "Projet open source cm-fhir"
* jurisdiction = urn:iso:std:iso:3166#FR "France"
* xpathUsage = #normal

Instance: cm-episode-of-care
InstanceOf: SearchParameter
Usage: #definition
Title: "Ressources d'un accompagnement (episode-of-care)"
* insert SearchParameterMetadata(cm-episode-of-care)
* name = "EpisodeOfCare"
* description = "Projets, orientations, bilans et ruptures (Observation cm-rupture) rattachés à un accompagnement par l'extension core workflow-episodeOfCare (l'équipe l'est par EpisodeOfCare.team : CareTeam?_has:EpisodeOfCare:team:_id=…). CarePlan, ServiceRequest, QuestionnaireResponse and Observation (ruptures) linked to an EpisodeOfCare by the workflow-episodeOfCare extension; a CareTeam is linked by EpisodeOfCare.team."
* code = #episode-of-care
* base[+] = #CarePlan
* base[+] = #ServiceRequest
* base[+] = #QuestionnaireResponse
* base[+] = #Observation
* type = #reference
* expression = "CarePlan.extension.where(url = 'http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare').value.ofType(Reference) | ServiceRequest.extension.where(url = 'http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare').value.ofType(Reference) | QuestionnaireResponse.extension.where(url = 'http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare').value.ofType(Reference) | Observation.extension.where(url = 'http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare').value.ofType(Reference)"
* target = #EpisodeOfCare

Instance: cm-episodeofcare-team
InstanceOf: SearchParameter
Usage: #definition
Title: "Accompagnements d'une équipe (EpisodeOfCare team)"
* insert SearchParameterMetadata(cm-episodeofcare-team)
* name = "Team"
* description = "Accompagnements dont l'équipe est la CareTeam donnée. Episodes of care whose team is the given CareTeam."
* code = #team
* base = #EpisodeOfCare
* type = #reference
* expression = "EpisodeOfCare.team"
* target = #CareTeam

Instance: cm-episodeofcare-model
InstanceOf: SearchParameter
Usage: #definition
Title: "Accompagnements par modèle de case management (EpisodeOfCare model)"
* insert SearchParameterMetadata(cm-episodeofcare-model)
* name = "Model"
* description = "Accompagnements selon le modèle de case management appliqué. Episodes of care by case-management model."
* code = #model
* base = #EpisodeOfCare
* type = #token
* expression = "EpisodeOfCare.extension.where(url = 'https://interop.cm-sante-mentale.fr/fhir/StructureDefinition/cm-case-management-model').value.ofType(CodeableConcept)"

Instance: cm-careplan-activity-pillar
InstanceOf: SearchParameter
Usage: #definition
Title: "Projets par pilier du soin de leurs actions (CarePlan activity-pillar)"
* insert SearchParameterMetadata(cm-careplan-activity-pillar)
* name = "ActivityPillar"
* description = "Projets dont une action relève du pilier du soin donné. Care plans with an action in the given pillar of care."
* code = #activity-pillar
* base = #CarePlan
* type = #token
* expression = "CarePlan.activity.detail.extension.where(url = 'https://interop.cm-sante-mentale.fr/fhir/StructureDefinition/cm-care-pillar').value.ofType(CodeableConcept)"

Instance: cm-careteam-managing-organization
InstanceOf: SearchParameter
Usage: #definition
Title: "Équipes gérées par une structure (CareTeam managing-organization)"
* insert SearchParameterMetadata(cm-careteam-managing-organization)
* name = "ManagingOrganization"
* description = "Équipes dont la structure gestionnaire est l'Organization donnée. Care teams managed by the given Organization."
* code = #managing-organization
* base = #CareTeam
* type = #reference
* expression = "CareTeam.managingOrganization"
* target = #Organization

Instance: cm-goal-expressed-by
InstanceOf: SearchParameter
Usage: #definition
Title: "Objectifs par auteur (Goal expressed-by)"
* insert SearchParameterMetadata(cm-goal-expressed-by)
* name = "ExpressedBy"
* description = "Objectifs exprimés par la personne ou l'intervenant donné (indicateur de co-construction). Goals expressed by the given person or professional."
* code = #expressed-by
* base = #Goal
* type = #reference
* expression = "Goal.expressedBy"
* target[+] = #Patient
* target[+] = #PractitionerRole
* target[+] = #Practitioner
* target[+] = #RelatedPerson
