// The bilan fonctionnel form (definition, published in the package).

RuleSet: ReviewQuestion(linkId, text, en)
* item[=].item[+].linkId = "{linkId}"
* item[=].item[=].text = "{text}"
* item[=].item[=].text.extension[0].url = "http://hl7.org/fhir/StructureDefinition/translation"
* item[=].item[=].text.extension[0].extension[0].url = "lang"
* item[=].item[=].text.extension[0].extension[0].valueCode = #en
* item[=].item[=].text.extension[0].extension[1].url = "content"
* item[=].item[=].text.extension[0].extension[1].valueString = "{en}"
* item[=].item[=].type = #text

Instance: cm-bilan-fonctionnel
InstanceOf: Questionnaire
Usage: #definition
Title: "Bilan fonctionnel (Functional review)"
Description: "Bilan fonctionnel de la vie quotidienne : pour chaque domaine de vie exploré, ce qui fonctionne, ce qui bloque, ce que la personne souhaite améliorer, ce qui la freine et ce qui la motive, dans ses mots. Functional review of daily life per life domain."
* url = "https://interop.cm-sante-mentale.fr/fhir/Questionnaire/cm-bilan-fonctionnel"
* version = "0.1.0"
* name = "CMBilanFonctionnel"
* title = "Bilan fonctionnel (Functional review)"
* status = #draft
* experimental = false
* publisher = "Projet open source cm-fhir"
* jurisdiction = urn:iso:std:iso:3166#FR "France"
* language = #fr
* subjectType = #Patient
* item[+].linkId = "domain"
* item[=].text = "Domaine de vie"
* item[=].type = #group
* item[=].repeats = true
* item[=].required = true
* item[=].item[+].linkId = "domain.code"
* item[=].item[=].text = "Domaine"
* item[=].item[=].type = #choice
* item[=].item[=].required = true
* item[=].item[=].answerValueSet = Canonical(CMLifeDomainVS)
* insert ReviewQuestion(domain.works, Ce qui fonctionne, What works)
* insert ReviewQuestion(domain.stuck, Ce qui bloque, What is stuck)
* insert ReviewQuestion(domain.wish, Ce que je souhaite améliorer, What I want to improve)
* insert ReviewQuestion(domain.barriers, Ce qui me freine, What holds me back)
* insert ReviewQuestion(domain.drivers, Ce qui me motive, What gives me drive)
