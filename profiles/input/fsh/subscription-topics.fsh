// Subscription topics of the case-management service (R5 SubscriptionTopic in the R4
// representation of the Subscriptions R5 Backport IG STU 1.1: Basic with cross-version
// extensions; sub-extensions by their full URL, the form the HL7 validator's cross-version
// definitions accept). What the server does with them: fhir_service/subscriptions/topics.py
// (tests/subscriptions/test_topics.py checks that both agree); docs/subscriptions.md.

Alias: $fhir-types = http://hl7.org/fhir/fhir-types

RuleSet: TopicMetadata(id, name)
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.url"
* extension[=].valueUri = "https://interop.cm-sante-mentale.fr/fhir/SubscriptionTopic/{id}"
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.version"
* extension[=].valueString = "0.1.0"
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.name"
* extension[=].valueString = "{name}"
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.publisher"
* extension[=].valueString = "Projet open source cm-fhir"
* modifierExtension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.status"
* modifierExtension[=].valueCode = #draft
* code = $fhir-types#SubscriptionTopic

RuleSet: TopicFilter(resource, parameter)
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy"
* extension[=].extension[0].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy.resource"
* extension[=].extension[=].valueUri = "{resource}"
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy.filterParameter"
* extension[=].extension[=].valueString = "{parameter}"

Instance: topic-careplan-changed
InstanceOf: Basic
Usage: #definition
Title: "SubscriptionTopic careplan-changed"
* insert TopicMetadata(careplan-changed, CarePlanChanged)
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.title"
* extension[=].valueString = "A care plan was created, changed or removed"
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.description"
* extension[=].valueMarkdown = "Un plan d'accompagnement a été créé, modifié ou supprimé (a care plan was created, changed or removed)."
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger"
* extension[=].extension[0].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.description"
* extension[=].extension[=].valueMarkdown = "A care plan was created, changed or removed"
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.resource"
* extension[=].extension[=].valueUri = "http://hl7.org/fhir/StructureDefinition/CarePlan"
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.supportedInteraction"
* extension[=].extension[=].valueCode = #create
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.supportedInteraction"
* extension[=].extension[=].valueCode = #update
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.supportedInteraction"
* extension[=].extension[=].valueCode = #delete
* insert TopicFilter(CarePlan, patient)
* insert TopicFilter(CarePlan, subject)
* insert TopicFilter(CarePlan, status)
* insert TopicFilter(CarePlan, category)
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.notificationShape"
* extension[=].extension[0].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.notificationShape.resource"
* extension[=].extension[=].valueUri = "CarePlan"

Instance: topic-goal-changed
InstanceOf: Basic
Usage: #definition
Title: "SubscriptionTopic goal-changed"
* insert TopicMetadata(goal-changed, GoalChanged)
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.title"
* extension[=].valueString = "A goal was set, removed, or its status or achievement changed"
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.description"
* extension[=].valueMarkdown = "Un objectif a été posé ou supprimé, ou son statut ou son degré d'atteinte a changé (a goal was set or removed, or its status or achievement changed)."
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger"
* extension[=].extension[0].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.description"
* extension[=].extension[=].valueMarkdown = "A goal was set, removed, or its status or achievement changed"
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.resource"
* extension[=].extension[=].valueUri = "http://hl7.org/fhir/StructureDefinition/Goal"
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.supportedInteraction"
* extension[=].extension[=].valueCode = #create
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.supportedInteraction"
* extension[=].extension[=].valueCode = #update
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.supportedInteraction"
* extension[=].extension[=].valueCode = #delete
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.fhirPathCriteria"
* extension[=].extension[=].valueString = "%previous.id.empty() or %current.id.empty() or (%previous.lifecycleStatus != %current.lifecycleStatus) or (%previous.achievementStatus != %current.achievementStatus)"
* insert TopicFilter(Goal, patient)
* insert TopicFilter(Goal, subject)
* insert TopicFilter(Goal, lifecycle-status)
* insert TopicFilter(Goal, achievement-status)
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.notificationShape"
* extension[=].extension[0].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.notificationShape.resource"
* extension[=].extension[=].valueUri = "Goal"

Instance: topic-careteam-membership-changed
InstanceOf: Basic
Usage: #definition
Title: "SubscriptionTopic careteam-membership-changed"
* insert TopicMetadata(careteam-membership-changed, CareTeamMembershipChanged)
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.title"
* extension[=].valueString = "A care team was formed or dissolved, or its members or status changed"
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.description"
* extension[=].valueMarkdown = "Une équipe de soins a été constituée ou dissoute, ou ses membres ou son statut ont changé (a care team was formed or dissolved, or its members or status changed)."
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger"
* extension[=].extension[0].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.description"
* extension[=].extension[=].valueMarkdown = "A care team was formed or dissolved, or its members or status changed"
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.resource"
* extension[=].extension[=].valueUri = "http://hl7.org/fhir/StructureDefinition/CareTeam"
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.supportedInteraction"
* extension[=].extension[=].valueCode = #create
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.supportedInteraction"
* extension[=].extension[=].valueCode = #update
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.supportedInteraction"
* extension[=].extension[=].valueCode = #delete
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.fhirPathCriteria"
* extension[=].extension[=].valueString = "%previous.id.empty() or %current.id.empty() or (%previous.participant != %current.participant) or (%previous.status != %current.status)"
* insert TopicFilter(CareTeam, patient)
* insert TopicFilter(CareTeam, subject)
* insert TopicFilter(CareTeam, status)
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.notificationShape"
* extension[=].extension[0].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.notificationShape.resource"
* extension[=].extension[=].valueUri = "CareTeam"

Instance: topic-episode-changed
InstanceOf: Basic
Usage: #definition
Title: "SubscriptionTopic episode-changed"
* insert TopicMetadata(episode-changed, EpisodeChanged)
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.title"
* extension[=].valueString = "An episode of care started, ended or changed status"
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.description"
* extension[=].valueMarkdown = "Un épisode d'accompagnement a commencé, s'est terminé ou a changé de statut (an episode of care started, ended or changed status)."
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger"
* extension[=].extension[0].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.description"
* extension[=].extension[=].valueMarkdown = "An episode of care started, ended or changed status"
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.resource"
* extension[=].extension[=].valueUri = "http://hl7.org/fhir/StructureDefinition/EpisodeOfCare"
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.supportedInteraction"
* extension[=].extension[=].valueCode = #create
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.supportedInteraction"
* extension[=].extension[=].valueCode = #update
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.supportedInteraction"
* extension[=].extension[=].valueCode = #delete
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.fhirPathCriteria"
* extension[=].extension[=].valueString = "%previous.id.empty() or %current.id.empty() or (%previous.status != %current.status) or (%previous.period != %current.period)"
* insert TopicFilter(EpisodeOfCare, patient)
* insert TopicFilter(EpisodeOfCare, status)
* insert TopicFilter(EpisodeOfCare, organization)
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.notificationShape"
* extension[=].extension[0].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.notificationShape.resource"
* extension[=].extension[=].valueUri = "EpisodeOfCare"

Instance: topic-consent-changed
InstanceOf: Basic
Usage: #definition
Title: "SubscriptionTopic consent-changed"
* insert TopicMetadata(consent-changed, ConsentChanged)
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.title"
* extension[=].valueString = "A consent was recorded, changed or withdrawn"
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.description"
* extension[=].valueMarkdown = "Un consentement a été recueilli, modifié ou retiré (a consent was recorded, changed or withdrawn)."
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger"
* extension[=].extension[0].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.description"
* extension[=].extension[=].valueMarkdown = "A consent was recorded, changed or withdrawn"
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.resource"
* extension[=].extension[=].valueUri = "http://hl7.org/fhir/StructureDefinition/Consent"
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.supportedInteraction"
* extension[=].extension[=].valueCode = #create
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.supportedInteraction"
* extension[=].extension[=].valueCode = #update
* extension[=].extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger.supportedInteraction"
* extension[=].extension[=].valueCode = #delete
* insert TopicFilter(Consent, patient)
* insert TopicFilter(Consent, status)
* extension[+].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.notificationShape"
* extension[=].extension[0].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.notificationShape.resource"
* extension[=].extension[=].valueUri = "Consent"
