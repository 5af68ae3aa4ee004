reset
{{setup}}
set output '{{png}}'
set title 'Confusion matrix on test: rows true class, columns predicted (colour: share of the row)'
set xlabel 'predicted'
set ylabel 'true'
set palette defined (0 '#ffffff', 1 '#2c6fbb')
set cbrange [0:1]
set yrange [] reverse
set grid noytics
set key off
# many classes: smaller tick labels so they do not overlap
if (!{{labels}}) {
	set xtics font ",7"
	set ytics font ",7"
}
if ({{labels}}) {
	plot '{{data}}' using 1:2:3:xticlabels(5):yticlabels(6) with image notitle, \
	     '' using 1:2:(stringcolumn(4)) with labels notitle
} else {
	plot '{{data}}' using 1:2:3:xticlabels(5):yticlabels(6) with image notitle
}
unset output
