# Settings every mlaudit plot shares (substituted for {{setup}} after `reset`).
# The plot templates are fixed text: data reaches gnuplot only through the
# tab-separated files beside the script, as values and xticlabels(); the report
# substitutes nothing but file names and numbers of its own choosing.
set terminal pngcairo size 800,400 font "sans,10" noenhanced
set datafile separator "\t"
set key autotitle columnheader
set key below
set grid ytics lc rgb '#dddddd'
set style fill solid 0.6 border -1
